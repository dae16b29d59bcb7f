#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory mapping of a whole file. Model weights are used straight from the mapping,
/// so a loaded model costs page cache, not a second copy in the heap.
// @unchecked Sendable: the mapping is read-only (PROT_READ) and unmapped only in deinit.
public final class MappedFile: @unchecked Sendable {
    public enum MapError: Error, CustomStringConvertible, Equatable {
        case cannotOpen(path: String, reason: String)
        case notARegularFile(path: String)
        case cannotMap(path: String, reason: String)

        public var description: String {
            switch self {
            case let .cannotOpen(path, reason): return "cannot open \(path): \(reason); check the path and its permissions"
            case let .notARegularFile(path): return "\(path) is not a regular file; pass the model file itself"
            case let .cannotMap(path, reason): return "cannot memory-map \(path): \(reason)"
            }
        }
    }

    public let path: String
    public let bytes: UnsafeRawBufferPointer

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw MapError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw MapError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw MapError.notARegularFile(path: path) }
        let size = Int(info.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw MapError.cannotMap(path: path, reason: String(cString: strerror(errno)))
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    public var count: Int { bytes.count }

    deinit {
        if let base = bytes.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }
}
