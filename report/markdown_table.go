package report

import (
	"strings"
	"unicode/utf8"
)

var cellEscaper = strings.NewReplacer("|", `\|`, "\r\n", " ", "\n", " ", "\r", " ")

// MarkdownTable renders a GitHub-flavoured Markdown table, its columns
// padded so that the source reads as a table too. Rows shorter than the
// header are padded with empty cells; "|" in a cell is escaped and line
// breaks become spaces.
func MarkdownTable(header []string, rows [][]string) string {
	ncol := len(header)
	for _, r := range rows {
		ncol = max(ncol, len(r))
	}
	if ncol == 0 {
		return ""
	}
	cell := func(r []string, j int) string {
		if j >= len(r) {
			return ""
		}
		return cellEscaper.Replace(r[j])
	}
	width := make([]int, ncol)
	for j := range width {
		width[j] = 3 // "---"
		width[j] = max(width[j], utf8.RuneCountInString(cell(header, j)))
		for _, r := range rows {
			width[j] = max(width[j], utf8.RuneCountInString(cell(r, j)))
		}
	}
	var b strings.Builder
	line := func(r []string) {
		b.WriteString("|")
		for j := range ncol {
			c := cell(r, j)
			b.WriteString(" ")
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", width[j]-utf8.RuneCountInString(c)))
			b.WriteString(" |")
		}
		b.WriteString("\n")
	}
	line(header)
	b.WriteString("|")
	for j := range ncol {
		b.WriteString(strings.Repeat("-", width[j]+2))
		b.WriteString("|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		line(r)
	}
	return b.String()
}
