/// WordPiece (BERT): each word is split greedily into the longest vocabulary entries from the
/// left; pieces after the first carry the continuation prefix (`##`). A word with a part that is
/// in no entry, or longer than `maxInputCharsPerWord`, becomes the unknown token as a whole.
struct WordPieceModel: Sendable {
    let vocab: [String: Int]
    let unknownID: Int
    let continuingPrefix: String
    let maxInputCharsPerWord: Int

    func tokenize(_ word: [Unicode.Scalar], into ids: inout [Int]) {
        guard !word.isEmpty else { return }
        if word.count > maxInputCharsPerWord {
            ids.append(unknownID)
            return
        }
        var pieces: [Int] = []
        var start = 0
        while start < word.count {
            var end = word.count
            var found: Int?
            while start < end {
                var candidate = start > 0 ? continuingPrefix : ""
                candidate.unicodeScalars.append(contentsOf: word[start..<end])
                if let id = vocab[candidate] {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else {
                ids.append(unknownID)
                return
            }
            pieces.append(id)
            start = end
        }
        ids.append(contentsOf: pieces)
    }
}
