import Testing
@testable import HeraldWeb
@Test func placeholder() { #expect(true) }
