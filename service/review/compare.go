package review

import (
	"slices"

	"realname/service/ocr"
	"realname/service/pii"
)

// field is one row of the comparison: how to read it and how to mask it.
type field struct {
	label string
	get   func(ocr.Fields) string
	mask  func(string) string
}

func keep(s string) string { return s }

func birthYear(s string) string {
	if len(s) >= 4 {
		return s[:4] + "-**-**"
	}
	return pii.MaskIDNumber(s)
}

var fields = []field{
	{"name", func(f ocr.Fields) string { return f.Name }, pii.MaskName},
	{"id_number", func(f ocr.Fields) string { return f.IDNumber }, pii.MaskIDNumber},
	{"sex", func(f ocr.Fields) string { return f.Sex }, keep},
	{"ethnicity", func(f ocr.Fields) string { return f.Ethnicity }, keep},
	{"birth", func(f ocr.Fields) string { return f.Birth }, birthYear},
	{"address", func(f ocr.Fields) string { return f.Address }, pii.MaskAddress},
	{"authority", func(f ocr.Fields) string { return f.Authority }, keep},
	{"valid_from", func(f ocr.Fields) string { return f.ValidFrom }, keep},
	{"valid_to", func(f ocr.Fields) string {
		if f.LongTerm {
			return "长期"
		}
		return f.ValidTo
	}, keep},
}

// compare lays the readings side by side: one column per OCR reading (the
// stored card sides when no attempt kept its reading), then what the user
// submitted. A row differs when its non-empty raw values disagree; values
// are shown masked unless reveal.
func compare(cd card, readings []reading, name, number string, corrections []string, reveal bool) Comparison {
	type column struct {
		head Column
		f    ocr.Fields
	}
	var cols []column
	for _, r := range readings {
		side := string(r.Fields.Side)
		if side == "" {
			side = "auto"
		}
		cols = append(cols, column{Column{Side: side, Provider: r.Provider, At: r.At}, r.Fields})
	}
	if len(cols) == 0 {
		if cd.Front != nil {
			cols = append(cols, column{Column{Side: "front", Provider: cd.FrontProvider}, *cd.Front})
		}
		if cd.Back != nil {
			cols = append(cols, column{Column{Side: "back", Provider: cd.BackProvider}, *cd.Back})
		}
	}
	cols = append(cols, column{Column{Submitted: true}, ocr.Fields{Name: name, IDNumber: number}})
	var out Comparison
	for _, c := range cols {
		out.Columns = append(out.Columns, c.head)
	}
	for _, fd := range fields {
		row := CompareRow{Field: fd.label, Corrected: slices.Contains(corrections, fd.label)}
		seen := ""
		for _, c := range cols {
			raw := fd.get(c.f)
			if raw != "" {
				if seen != "" && seen != raw {
					row.Differs = true
				}
				seen = raw
			}
			if !reveal && raw != "" {
				raw = fd.mask(raw)
			}
			row.Values = append(row.Values, raw)
		}
		out.Rows = append(out.Rows, row)
	}
	return out
}
