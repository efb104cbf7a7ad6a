import Hummingbird
import HeraldCore
import HeraldStore

struct AccountPages {
    let store: Store
    let accounts: Accounts
    let pages: PageRenderer

    func register(on app: RouterGroup<AppRequestContext>) {}
}
