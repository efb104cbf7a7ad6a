import HeraldCore

/// A problem with one row of a repeated part of a form, in the words the form shows beside
/// the row: `trigger_actions[1].subject` under "Action" reads "Action 2, subject: is required".
struct RowProblem: Equatable {
    /// The row, counted from 0; nil for a problem with the part as a whole.
    var row: Int?
    var text: String

    /// The problems under `key` (a list in the API's JSON), each named after its row; `words`
    /// says the rest of a row's path the way the form does.
    static func under(_ key: String, noun: String, in problems: [Problem],
                      words: (Substring) -> String = { String($0) }) -> [RowProblem] {
        problems.filter { $0.field == key || $0.field.hasPrefix(key + "[") }.map { problem in
            guard let (i, label) = name(problem.field, under: key, noun: noun, words: words) else { return RowProblem(row: nil, text: problem.reason) }
            return RowProblem(row: i, text: "\(label): \(problem.reason)")
        }
    }

    /// The row of `field` under `key` and its name on the form ("Follow-up 3, rule 1, value"),
    /// nil when `field` names no row.
    static func name(_ field: String, under key: String, noun: String,
                     words: (Substring) -> String = { String($0) }) -> (row: Int, label: String)? {
        guard field.hasPrefix(key) else { return nil }
        let path = field.dropFirst(key.count)
        guard path.hasPrefix("["), let close = path.firstIndex(of: "]"), let i = Int(path[path.index(after: path.startIndex)..<close]) else {
            return nil
        }
        let rest = path[path.index(after: close)...].drop { $0 == "." }
        return (i, "\(noun) \(i + 1)\(rest.isEmpty ? "" : ", \(words(rest))")")
    }
}
