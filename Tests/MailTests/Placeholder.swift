import Testing
@testable import Mail
@Test func placeholder() { #expect(true) }
