package agent

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// bufResponse is an http.ResponseWriter that keeps the answer in memory,
// for a parked query to write on its hijacked connection (http_park.go).
type bufResponse struct {
	header http.Header
	code   int // 0 until WriteHeader or Write
	body   []byte
}

func (b *bufResponse) Header() http.Header {
	if b.header == nil {
		b.header = make(http.Header, 8)
	}
	return b.header
}

func (b *bufResponse) WriteHeader(code int) {
	if b.code == 0 {
		b.code = code
	}
}

func (b *bufResponse) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	b.body = append(b.body, p...) // copied: fmt reuses its buffers
	return len(p), nil
}

// appendWire appends the HTTP/1.1 response as net/http's server writes it
// for a handler that wrote a small body and returned on a keep-alive
// connection: status line, the handler's headers in key order, Date,
// Content-Length, and a sniffed Content-Type when the handler set none.
func (b *bufResponse) appendWire(dst []byte, now time.Time) []byte {
	code := b.code
	if code == 0 {
		code = http.StatusOK
	}
	dst = append(dst, "HTTP/1.1 "...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, ' ')
	dst = append(dst, http.StatusText(code)...)
	dst = append(dst, "\r\n"...)
	keys := make([]string, 0, len(b.header))
	for k := range b.header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range b.header[k] {
			dst = appendHeaderLine(dst, k, v)
		}
	}
	dst = append(dst, "Date: "...)
	dst = append(dst, httpDate(now)...)
	dst = append(dst, "\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(b.body)), 10)
	dst = append(dst, "\r\n"...)
	if _, ok := b.header["Content-Type"]; !ok && len(b.body) > 0 {
		dst = appendHeaderLine(dst, "Content-Type", http.DetectContentType(b.body))
	}
	dst = append(dst, "\r\n"...)
	return append(dst, b.body...)
}

// headerValueFix does what net/http does to a header value: newlines
// become spaces, surrounding blanks go.
var headerValueFix = strings.NewReplacer("\n", " ", "\r", " ")

func appendHeaderLine(dst []byte, k, v string) []byte {
	if strings.ContainsAny(v, "\r\n") {
		v = headerValueFix.Replace(v)
	}
	dst = append(dst, k...)
	dst = append(dst, ": "...)
	dst = append(dst, strings.Trim(v, " \t")...)
	return append(dst, "\r\n"...)
}

// httpDate is now in http.TimeFormat, formatted once per second.
func httpDate(now time.Time) []byte {
	sec := now.Unix()
	if d := lastDate.Load(); d != nil && d.sec == sec {
		return d.text
	}
	d := &dateText{sec: sec, text: now.UTC().AppendFormat(nil, http.TimeFormat)}
	lastDate.Store(d)
	return d.text
}

type dateText struct {
	sec  int64
	text []byte
}

var lastDate atomic.Pointer[dateText]
