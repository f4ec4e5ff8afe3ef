package wechat

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"realname/service/face"
	"realname/service/ocr"
)

// FuzzOCRAnswer: any body cv/ocr/idcard may send decodes to a result of
// valid text or to an error the chain can classify.
func FuzzOCRAnswer(f *testing.F) {
	f.Add([]byte(`{"errcode":0,"type":"Front","name":"林浩然","id":"11010119900514213x","addr":"北京市","gender":"男","nationality":"汉族"}`))
	f.Add([]byte(`{"errcode":0,"type":"Back","valid_date":"20160820-长期"}`))
	f.Add([]byte(`{"errcode":101001,"errmsg":"certificate not found"}`))
	f.Add([]byte(`{"errcode":40001,"errmsg":"invalid credential"}`))
	f.Add([]byte(`{"errcode":0,"type":"front","id":"１１０"}`))
	// errcode as a string, as a copy of WeChat's document shows it.
	f.Add([]byte(`{"errcode":"0","errmsg":"ok","type":"Front","name":"林浩然","id":"110101199005142138"}`))
	f.Add([]byte(`{"errcode":"101001","errmsg":"certificate not found"}`))
	f.Add([]byte(`{"errcode":" -1 "}`))
	f.Add([]byte(`{"errcode":"","type":"Front"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ans, err := decodeAnswer(data)
		if err != nil {
			if e := classify(err); !errors.Is(e, ocr.ErrProvider) && !errors.Is(e, ocr.ErrNoCard) && !errors.Is(e, ocr.ErrBadImage) {
				t.Fatalf("unclassified: %v", e)
			}
			return
		}
		res, err := resultOf(ans)
		if err != nil {
			return
		}
		for _, s := range []string{res.Name, res.IDNumber, res.Address, res.Birth, res.ValidFrom, res.ValidTo} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 %q", s)
			}
		}
		if res.Birth != "" && len(res.Birth) != 10 {
			t.Fatalf("birth %q", res.Birth)
		}
	})
}

// FuzzValidity: the validity period becomes dates or nothing, never a guess.
func FuzzValidity(f *testing.F) {
	for _, s := range []string{"20160820-20360820", "20120605-长期", "2012.06.05 - 2032.06.05", "-", "2016082020360820", "20161320-20360820"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		from, to, long := validity(s)
		for _, d := range []string{from, to} {
			if d != "" && len(d) != 10 {
				t.Fatalf("%q gave date %q", s, d)
			}
		}
		if long && to != "" {
			t.Fatalf("%q is long-term with an end %q", s, to)
		}
	})
}

// FuzzFaceAnswer: any body getVerifyId or queryVerifyInfo may send becomes
// a ticket, a verdict of a known class with its raw verify_ret, or an
// error of a face kind; an errcode answer is never a verdict, and no
// error carries the cert_no that errmsg echoed.
func FuzzFaceAnswer(f *testing.F) {
	f.Add([]byte(`{"errcode":0,"errmsg":"ok","verify_id":"vid-1","expires_in":3600}`))
	f.Add([]byte(`{"errcode":0,"errmsg":"ok","verify_ret":10000}`))
	f.Add([]byte(`{"errcode":"0","errmsg":"ok","verify_ret":"90002"}`))
	f.Add([]byte(`{"errcode":84001,"errmsg":"invalid identify id"}`))
	f.Add([]byte(`{"errcode":"84001","verify_ret":10000}`))
	f.Add([]byte(`{"errcode":-1,"errmsg":"system error"}`))
	f.Add([]byte(`{"errcode":40001,"errmsg":"invalid credential"}`))
	f.Add([]byte(`{"errcode":40097,"errmsg":"invalid args 310101199801011234"}`))
	f.Add([]byte(`{"verify_ret":null,"expires_in":-5,"verify_id":""}`))
	f.Add([]byte(`{"errcode":0,"verify_id":"v","expires_in":"9223372036854775807"}`))
	f.Add([]byte(`{"verify_ret":1e4}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		const certNo = "310101199801011234"
		for _, api := range []string{"getverifyid", "queryverifyinfo"} {
			ans, err := decodeFaceAnswer(api, data, certNo)
			if err == nil && api == "getverifyid" {
				var tk FaceTicket
				if tk, err = ticketOf(ans); err == nil {
					if tk.VerifyID == "" || len(tk.VerifyID) > verifyIDMax || tk.ExpiresIn <= 0 || tk.ExpiresIn > faceMaxTTL {
						t.Fatalf("ticket %+v", tk)
					}
					continue
				}
			}
			if err == nil && api == "queryverifyinfo" {
				var r FaceResult
				if r, err = resultOfFace(ans); err == nil {
					if ans.ErrCode != 0 {
						t.Fatalf("errcode %d answered a verdict", ans.ErrCode)
					}
					if out, cause := ClassifyVerifyRet(r.VerifyRet); out != r.Outcome || cause != r.Cause || out == "" {
						t.Fatalf("result %+v", r)
					}
					continue
				}
			}
			fe := faceError(fmt.Errorf("wechat face %s: %w", api, err))
			if !errors.Is(fe, face.ErrInvalidTicket) && !errors.Is(fe, face.ErrUnavailable) && !errors.Is(fe, face.ErrRefused) {
				t.Fatalf("unclassified: %v", fe)
			}
			if strings.Contains(err.Error(), certNo) || !utf8.ValidString(err.Error()) {
				t.Fatalf("error text %q", err)
			}
		}
	})
}
