extension UnsafeMutableBufferPointer<UInt8> {
    /// Copies `bytes` in from `start` (there must be room) and returns where they ended: how a
    /// token, a URL or a Message-ID is written into the one string made for it.
    func put(_ bytes: some Sequence<UInt8>, at start: Int) -> Int {
        var at = start
        for byte in bytes {
            self[at] = byte
            at += 1
        }
        return at
    }
}
