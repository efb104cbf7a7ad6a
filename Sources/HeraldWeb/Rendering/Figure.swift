/// One figure in a list of figures (the `figure` partial): a count, what it counts, and a
/// note such as its rate; `over` marks one past its limit.
struct Figure: PageModel {
    let count: Int
    let label: String
    var note: String? = nil
    var id: String? = nil
    var title: String? = nil
    var over = false
}
