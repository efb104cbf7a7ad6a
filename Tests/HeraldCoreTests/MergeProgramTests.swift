@testable import HeraldCore
import Mustache
import Testing

/// The merge renderer must render exactly what swift-mustache renders for the same
/// slot-numbered text: compared here on generated templates, whitespace and line ends included.
@Suite struct MergeProgramTests {
    /// A small deterministic generator, so a failure repeats.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    // No piece ends in "{": before a tag it would make "{{{", which the scanner never lets through.
    static let pieces = ["word", " ", "  ", "\t", "\n", "\r\n", "\r", "<b>", "&", "}", "x{y", "ä", "\n\n", " \n", "\u{2028}"]

    func template(_ g: inout Generator, depth: Int = 0, slots: Int) -> String {
        var out = ""
        for _ in 0..<Int.random(in: 0...8, using: &g) {
            switch Int.random(in: 0..<10, using: &g) {
            case 0...4: out += Self.pieces.randomElement(using: &g)!
            // A slot is a value or a section's condition, never both (as CompiledTemplate makes them).
            case 5, 6: out += "{{s\(Int.random(in: 2..<slots, using: &g))}}"
            case 7: out += "{{! a note }}"
            default:
                guard depth < 3 else { continue }
                let slot = Int.random(in: 0..<2, using: &g)
                let open = Bool.random(using: &g) ? "#" : "^"
                out += "{{\(open)s\(slot)}}" + template(&g, depth: depth + 1, slots: slots) + "{{/s\(slot)}}"
            }
        }
        return out
    }

    struct Parent: MustacheParent {
        let values: [MergeProgram.Value]
        func child(named name: String) -> Any? {
            guard name.first == "s", let i = Int(name.dropFirst()), values.indices.contains(i) else { return nil }
            switch values[i] {
            case .text(let t): return t
            case .flag(let b): return b
            case .absent: return nil
            }
        }
    }

    @Test(arguments: [false, true])
    func rendersWhatSwiftMustacheRenders(escapes: Bool) throws {
        var g = Generator(state: escapes ? 7 : 11)
        let texts = ["Ada", "<b>\"O'Neil\" & co</b>", "", "line\nbreak"]
        for _ in 0..<3_000 {
            let source = template(&g, slots: 4)
            // Slots 0 and 1 are conditions (flags), 2 and 3 values (text or nothing).
            let values: [MergeProgram.Value] = [
                .flag(Bool.random(using: &g)), .flag(Bool.random(using: &g)),
                Bool.random(using: &g) ? .text(texts.randomElement(using: &g)!) : .absent,
                Bool.random(using: &g) ? .text(texts.randomElement(using: &g)!) : .absent,
            ]
            let reference = try MustacheTemplate(string: (escapes ? "" : "{{% CONTENT_TYPE: TEXT}}\n") + source)
                .render(Parent(values: values))
            let program = try #require(MergeProgram(source, escapes: escapes), "\(source.debugDescription) did not parse")
            let ours = program.render(values)
            #expect(ours == reference, "\(source.debugDescription) with \(values)")
            if ours != reference { return }
        }
    }

    @Test func refusesWhatTheBuilderNeverWrites() {
        #expect(MergeProgram("{{#s1}}open", escapes: true) == nil)
        #expect(MergeProgram("{{/s1}}", escapes: true) == nil)
        #expect(MergeProgram("{{name}}", escapes: true) == nil)
        #expect(MergeProgram("{{#s1}}x{{/s2}}", escapes: true) == nil)
    }
}
