package inbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/karerehub/karere/hub"
)

// pageData is what every page template gets.
type pageData struct {
	Title    string
	Page     string // the main element's data-page: what the script does there
	Staff    *hub.Staff
	CSRF     string
	Practice *hub.Practice
	Nav      string // the active navigation entry
	Data     any
}

// parsePages parses each page with the layout.
func parsePages() map[string]*template.Template {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		out[base] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n))
	}
	return out
}

var funcs = template.FuncMap{
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	},
}

// render executes a page into a buffer first, so a template error is a
// clean 500 and not half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, rq *request, name string, status int, d pageData) {
	if rq != nil {
		d.Staff, d.CSRF, d.Practice = rq.staff, rq.sess.CSRF, rq.practice
	}
	t := h.pages[name]
	var buf bytes.Buffer
	if t == nil {
		h.log.Error("inbox: no such page template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout.html", d); err != nil {
		h.log.Error("inbox: rendering page", "name", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// when formats times in the practice's time zone.
type when struct {
	loc *time.Location
	now time.Time
}

func newWhen(p *hub.Practice, now time.Time) when {
	loc := time.UTC
	if p != nil {
		if l, err := time.LoadLocation(p.TimeZone); err == nil {
			loc = l
		}
	}
	return when{loc: loc, now: now}
}

// stamp is a time for display: short text, ISO form, and age.
type stamp struct {
	Text string // "Thu 4 Dec 10:30"
	ISO  string // for <time datetime>
	Ago  string // "3 h 20 min"
}

func (w when) stamp(t time.Time) stamp {
	lt := t.In(w.loc)
	text := lt.Format("Mon 2 Jan 15:04")
	if lt.Year() != w.now.In(w.loc).Year() {
		text = lt.Format("2 Jan 2006 15:04")
	}
	return stamp{Text: text, ISO: t.UTC().Format(time.RFC3339), Ago: age(w.now.Sub(t))}
}

// age says how long ago, roughly: "just now", "12 min", "3 h 20 min",
// "2 d 4 h".
func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 24*time.Hour:
		h := int(d.Hours())
		if m := int(d.Minutes()) % 60; m > 0 {
			return fmt.Sprintf("%d h %d min", h, m)
		}
		return fmt.Sprintf("%d h", h)
	}
	days := int(d.Hours()) / 24
	if h := int(d.Hours()) % 24; h > 0 {
		return fmt.Sprintf("%d d %d h", days, h)
	}
	return fmt.Sprintf("%d d", days)
}

// asset is an embedded static file.
type asset struct {
	body      []byte
	etag      string
	ctype     string
	immutable bool // content-hashed name: cache for a year
}

func loadAssets(fsys fs.FS) map[string]*asset {
	out := map[string]*asset{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) {
		case ".js", ".mjs":
			ct = "text/javascript; charset=utf-8"
		case ".css":
			ct = "text/css; charset=utf-8"
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		out[p] = &asset{body: b, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, ctype: ct,
			immutable: strings.HasPrefix(p, "chunks/")}
		return nil
	})
	if err != nil {
		panic(err)
	}
	return out
}

func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request) {
	a := h.static[r.PathValue("path")]
	if a == nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	hd := w.Header()
	if a.immutable {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	hd.Set("ETag", a.etag)
	hd.Set("Content-Type", a.ctype)
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Length", fmt.Sprint(len(a.body)))
	_, _ = w.Write(a.body)
}
