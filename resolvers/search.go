package resolvers

import (
	"slices"

	"github.com/iotconsole/bff/graph/model"
	"github.com/iotconsole/bff/internal/customers"
)

// matchedFields returns the distinct fields of a hit's matches, in their order.
func matchedFields(hs []customers.Highlight) []model.SearchField {
	out := []model.SearchField{}
	for _, h := range hs {
		if f := model.SearchField(h.Field); !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// mapHighlights maps a hit's matches to the API's highlights.
func mapHighlights(hs []customers.Highlight) []model.SearchHighlight {
	out := make([]model.SearchHighlight, len(hs))
	for i, h := range hs {
		ranges := make([]model.TextRange, len(h.Ranges))
		for j, r := range h.Ranges {
			ranges[j] = model.TextRange{Start: r.Start, Length: r.Length}
		}
		out[i] = model.SearchHighlight{Field: model.SearchField(h.Field), Value: h.Value, Ranges: ranges}
	}
	return out
}
