import Hummingbird
import HeraldCore
import HeraldStore

struct ImportPages {
    let store: Store
    let pages: PageRenderer

    func register(on app: RouterGroup<AppRequestContext>) {}
}
