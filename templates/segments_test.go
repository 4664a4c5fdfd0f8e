package templates

import (
	"strings"
	"testing"
)

func TestMeasure(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	mac := func(n int) string { return strings.Repeat("ā", n) }
	tests := []struct {
		name string
		text string
		want Segments
	}{
		{"empty", "", Segments{EncodingGSM7, 0, 0, 160}},
		{"short GSM", "Kia ora Aroha", Segments{EncodingGSM7, 13, 1, 160}},
		{"GSM 160 is one segment", a(160), Segments{EncodingGSM7, 160, 1, 160}},
		{"GSM 161 is two", a(161), Segments{EncodingGSM7, 161, 2, 153}},
		{"GSM 306 is two", a(306), Segments{EncodingGSM7, 306, 2, 153}},
		{"GSM 307 is three", a(307), Segments{EncodingGSM7, 307, 3, 153}},
		{"GSM basic specials count 1", "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà", Segments{EncodingGSM7, 44, 1, 160}},
		{"extension chars count 2", "^{}\\[~]|€\f", Segments{EncodingGSM7, 20, 1, 160}},
		{"80 euro signs fill one segment", strings.Repeat("€", 80), Segments{EncodingGSM7, 160, 1, 160}},
		{"81 euro signs", strings.Repeat("€", 81), Segments{EncodingGSM7, 162, 2, 153}},
		// 152 + 2 + 152 = 306 septets would be 2 parts if the escape pair could
		// be split; it can't, so part 1 holds 152 and the rest spills to part 3.
		{"escape pair straddling 153", a(152) + "€" + a(152), Segments{EncodingGSM7, 306, 3, 153}},
		{"escape pair ending exactly at 153", a(151) + "€" + a(153), Segments{EncodingGSM7, 306, 2, 153}},
		{"UCS-2 70 is one segment", mac(70), Segments{EncodingUCS2, 70, 1, 70}},
		{"UCS-2 71 is two", mac(71), Segments{EncodingUCS2, 71, 2, 67}},
		{"UCS-2 134 is two", mac(134), Segments{EncodingUCS2, 134, 2, 67}},
		{"UCS-2 135 is three", mac(135), Segments{EncodingUCS2, 135, 3, 67}},
		{"one macron makes it UCS-2", "Māori", Segments{EncodingUCS2, 5, 1, 70}},
		{"macron in a long GSM text", a(100) + "ō", Segments{EncodingUCS2, 101, 2, 67}},
		{"curly apostrophe is UCS-2", "Aroha’s", Segments{EncodingUCS2, 7, 1, 70}},
		{"lowercase c cedilla is not GSM", "ç", Segments{EncodingUCS2, 1, 1, 70}},
		{"emoji is two units", "😀", Segments{EncodingUCS2, 2, 1, 70}},
		{"35 emoji fill one segment", strings.Repeat("😀", 35), Segments{EncodingUCS2, 70, 1, 70}},
		// 66 + 2 + 66 = 134 units would be 2 parts if the surrogate pair
		// could be split at 67; it can't.
		{"emoji straddling 67", mac(66) + "😀" + mac(66), Segments{EncodingUCS2, 134, 3, 67}},
		{"emoji ending exactly at 67", mac(65) + "😀" + mac(67), Segments{EncodingUCS2, 134, 2, 67}},
		{"GSM text with an emoji is UCS-2", a(69) + "😀", Segments{EncodingUCS2, 71, 2, 67}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Measure(tt.text); got != tt.want {
				t.Errorf("Measure() = %+v, want %+v", got, tt.want)
			}
		})
	}
}
