import Hummingbird
import HeraldCore
import HeraldStore

struct ViewPages {
    let store: Store
    let pages: PageRenderer

    func register(on app: RouterGroup<AppRequestContext>) {}
}
