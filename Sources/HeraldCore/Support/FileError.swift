import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The plain reason a file operation failed ("Permission denied", "Not a directory"), for
/// messages a person reads: Foundation's own text of such an error is a dump of its domain,
/// code and user info.
public enum FileError {
    public static func reason(_ error: any Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        return ns.localizedDescription
    }

    /// Makes the folder `path` and its missing parents, with `mode`; returns why it could
    /// not in plain words ("…/notes is a file, not a folder", "Permission denied"), nil when
    /// the folder is there. Foundation's own `createDirectory` often throws a bare "error 512".
    public static func makeFolder(_ path: String, mode: mode_t = 0o755) -> String? {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
            return isFolder.boolValue ? nil : "\(path) is a file, not a folder"
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path, let reason = makeFolder(parent, mode: mode) { return reason }
        if mkdir(path, mode) != 0, errno != EEXIST { return String(cString: strerror(errno)) }
        return nil
    }
}
