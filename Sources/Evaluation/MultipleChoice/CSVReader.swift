import Foundation

/// One CSV record and the line it starts on (records may span lines inside quotes).
struct CSVRecord: Equatable {
    var fields: [String]
    var line: Int
}

/// RFC 4180 CSV as the MMLU, CMMLU and C-Eval files use it: comma-separated, fields optionally in
/// double quotes with `""` for a quote and line breaks allowed inside quotes, records ending in
/// LF or CRLF. A quote inside an unquoted field is kept as a character (as Python's csv does).
enum CSVReader {
    struct UnterminatedQuote: Error {
        let line: Int
    }

    static func records(_ text: String) throws(UnterminatedQuote) -> [CSVRecord] {
        var records: [CSVRecord] = []
        var fields: [String] = []
        var field = String.UnicodeScalarView()
        var line = 1, recordLine = 1
        var inQuotes = false, fieldWasQuoted = false, recordHasContent = false
        var scalars = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil

        func endField() {
            fields.append(String(field))
            field = String.UnicodeScalarView()
            fieldWasQuoted = false
        }
        func endRecord() {
            endField()
            // A blank line is no record.
            if recordHasContent || fields.count > 1 || fields.first?.isEmpty == false {
                records.append(CSVRecord(fields: fields, line: recordLine))
            }
            fields = []
            recordHasContent = false
        }

        while let c = pending ?? scalars.next() {
            pending = nil
            if inQuotes {
                if c == "\"" {
                    if let next = scalars.next() {
                        if next == "\"" { field.append("\"") } else { inQuotes = false; pending = next }
                    } else {
                        inQuotes = false
                    }
                } else {
                    if c == "\n" { line += 1 }
                    field.append(c)
                }
                continue
            }
            switch c {
            case "\"" where field.isEmpty && !fieldWasQuoted:
                inQuotes = true
                fieldWasQuoted = true
                recordHasContent = true
            case ",":
                recordHasContent = true
                endField()
            case "\r":
                // CRLF ends the record at the LF; a lone CR is kept.
                if let next = scalars.next() {
                    if next == "\n" { pending = next } else { field.append(c); pending = next }
                } else {
                    field.append(c)
                }
            case "\n":
                endRecord()
                line += 1
                recordLine = line
            default:
                recordHasContent = true
                field.append(c)
            }
        }
        if inQuotes { throw UnterminatedQuote(line: recordLine) }
        if recordHasContent || !field.isEmpty || !fields.isEmpty { endRecord() }
        return records
    }
}
