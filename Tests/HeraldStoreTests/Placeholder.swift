import Testing
@testable import HeraldStore
@Test func placeholder() { #expect(true) }
