/// One `<option>` of a `<select>`: `{{#choices}}<option value="{{value}}" {{#selected}}selected{{/selected}}>{{label}}</option>{{/choices}}`.
struct SelectOption: PageModel {
    let value: String
    let label: String
    let selected: Bool
}
