package agent

import (
	"net/http"
	"path"
	"strings"
	"unicode"
)

// canonicalPaths is what Consul's HTTP server does to a path before any
// handler sees it (agent/http.go: cleanhttp.PrintablePathCheckHandler
// around an http.ServeMux):
//
//   - a path holding a rune unicode.IsPrint refuses (a control character,
//     a non-ASCII space) is a 400 with an empty body, unless
//     disable_http_unprintable_char_filter is set;
//   - a path that is not clean ("a//b", "x/./y", "x/../y", so a KV key
//     with a leading slash) is a 301 to the cleaned path, query kept:
//     such keys cannot be written through Consul's HTTP API
//     (hashicorp/consul#3476, #15933);
//   - a subtree's root without its slash ("/v1/kv") is a 301 to it with
//     the slash.
//
// Both redirects are ServeMux's as Consul has shipped them, built with Go
// up to 1.25: 301, the path compared escaped (so "%2F" stays a byte of
// the key). Go 1.26's ServeMux answers 307 instead, and its Location
// escapes the escaped path again ("b%20c" becomes "b%2520c", golang/go
// #69690's neighbourhood); this one sends the cleaned path as the client
// wrote it.
type canonicalPaths struct {
	filter   bool            // refuse unprintable paths
	subtrees map[string]bool // registered patterns ending in "/"
}

// answered writes the 400 or the redirect and reports whether it did.
func (c canonicalPaths) answered(w http.ResponseWriter, r *http.Request) bool {
	if c.filter && !printablePath(r.URL.Path) {
		w.WriteHeader(http.StatusBadRequest)
		return true
	}
	if r.Method == http.MethodConnect {
		return false // ServeMux does not clean CONNECT paths
	}
	escaped := r.URL.EscapedPath()
	clean := cleanPath(escaped)
	if clean == escaped && c.subtrees[clean+"/"] {
		clean += "/"
	}
	if clean == escaped {
		return false
	}
	loc := clean
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	// Not http.Redirect: it would resolve and re-escape loc.
	w.Header().Set("Location", loc)
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	w.WriteHeader(http.StatusMovedPermanently)
	if r.Method == http.MethodGet {
		_, _ = w.Write([]byte("<a href=\"" + htmlEscaper.Replace(loc) + "\">Moved Permanently</a>.\n\n"))
	}
	return true
}

// htmlEscaper escapes the link in the redirect's body as net/http does.
var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")

// printablePath reports whether every rune of the unescaped path is
// printable: letters, marks, numbers, punctuation, symbols and the ASCII
// space. Invalid UTF-8 reads as U+FFFD, a printable symbol, as in Consul.
func printablePath(p string) bool {
	return strings.IndexFunc(p, func(c rune) bool { return !unicode.IsPrint(c) }) < 0
}

// cleanPath is ServeMux's canonical form of a path: rooted, without "."
// or ".." elements or repeated slashes, its trailing slash kept.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}
