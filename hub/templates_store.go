package hub

// TemplateStore is the part of Store for practice templates (filled in by
// the templates work).
type TemplateStore interface {
}
