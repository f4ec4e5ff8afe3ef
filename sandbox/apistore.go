package sandbox

import (
	"bytes"
	"crypto/md5"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/image/bmp" // the document lists bmp among the formats

	"realname/testdata/idcard"
)

// ApistoreUpstream is the upstream name the API-store fake registers
// under, for fault injection.
const ApistoreUpstream = "apistore"

// ApistoreEndpoint is the path of the API-store fake on the sandbox: the
// client's endpoint URL is the sandbox URL + ApistoreEndpoint, the
// documented /pyi/76/194 behind an /apistore prefix.
const ApistoreEndpoint = "/apistore/pyi/76/194"

// The app NewApistore accepts when given none.
const (
	// SandboxApistoreAppID is the sandbox app's appid.
	SandboxApistoreAppID = "100001"
	// SandboxApistoreSecret is its secret, 32 characters like a real one.
	SandboxApistoreSecret = "sandboxapistoresecret00000000001"
)

const (
	// apistoreMaxURLEncoded is "base64编码和urlencode后大小不超过4M", read
	// as 4,000,000 bytes, the stricter reading.
	apistoreMaxURLEncoded = 4_000_000
	apistoreMinSide       = 15
	apistoreMaxSide       = 4096
	apistoreMaxURL        = 1024
	// apistoreMaxSkew is "时差不能超过10分钟".
	apistoreMaxSkew = 10 * time.Minute
)

// apistoreParams are the documented request parameters; any other name is
// answered 10015 (参数个数错误).
var apistoreParams = []string{"appid", "format", "id_card_side", "sign", "time", "url_image"}

// Apistore fakes API-store's 身份证信息识别 (pyi/76/194). It is safe for
// concurrent use.
//
// The fake checks what the document states and decides what it leaves
// open as follows:
//   - Parameters are read from the form body and the query alike (the
//     document says POST, its examples send a GET query).
//   - Checks run appid (10001), sign present (10002), appid known (10005),
//     time an integer (10017) and within 10 minutes (10004; time may be
//     left out), then the sign (10003). The sign is recomputed here from
//     the document's rule, not with the client's code.
//   - Errors of the recognition itself (format, url_image missing, size,
//     pixels, undecodable image) are the templated 10019 "{@info}".
//   - Success is codeid 10000 with image_status and idcard_number_type
//     next to codeid, and retdata holding only the fields of the side seen.
//     Dates are YYYYMMDD as in the document's example, "长期" for no expiry.
//     An image of no sample card is 10000 with image_status non_idcard,
//     idcard_number_type -1 and an empty retdata.
//   - format=xml is refused with 10019: the fake answers JSON only.
type Apistore struct {
	cards  *Cards
	appID  string
	secret string
	client *http.Client
	now    func() time.Time
}

// NewApistore returns a fake serving one app (SandboxApistoreAppID and
// SandboxApistoreSecret when appID is empty).
func NewApistore(cards *Cards, appID, secret string) *Apistore {
	if appID == "" {
		appID, secret = SandboxApistoreAppID, SandboxApistoreSecret
	}
	return &Apistore{cards: cards, appID: appID, secret: secret,
		client: &http.Client{Timeout: 5 * time.Second}, now: time.Now}
}

// Mount registers the endpoint on s under upstream "apistore", for GET and
// POST.
func (a *Apistore) Mount(s *Server) {
	s.Register(ApistoreUpstream, ApistoreEndpoint, http.HandlerFunc(a.serve), a.writeFailure)
}

// apistoreMessages are the documented messages of the status codes.
var apistoreMessages = map[int]string{
	10001: "appid必须指定,可以我的应用里面查看",
	10002: "sign值必须指定,加密规则请前往帮助中心查看",
	10003: "sign值验证不通过,加密规则请前往帮助中心查看",
	10004: "时差不能超过10分钟,可以不传递这个参数,注意时间戳单位是秒",
	10005: "appid错误,请检查appid值,前往会员中心->我的应用查看或添加",
	10015: "参数个数错误",
	10017: "time必须是整型",
	10018: "次数不足",
	10021: "服务器发生错误",
}

// writeApistore answers like API-store: HTTP 200, the outcome in codeid.
func (a *Apistore) writeApistore(w http.ResponseWriter, body map[string]any) {
	body["time"] = strconv.FormatInt(a.now().Unix(), 10)
	writeJSON(w, http.StatusOK, body)
}

func (a *Apistore) writeCode(w http.ResponseWriter, code int, info string) {
	if info == "" {
		info = apistoreMessages[code]
	}
	a.writeApistore(w, map[string]any{"codeid": code, "message": info, "retdata": ""})
}

// writeFailure renders the fault modes: error is 10021 服务器发生错误,
// quota is 10018 次数不足.
func (a *Apistore) writeFailure(w http.ResponseWriter, _ *http.Request, mode string) {
	if mode == ModeQuota {
		a.writeCode(w, 10018, "")
		return
	}
	a.writeCode(w, 10021, "")
}

func (a *Apistore) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, apistoreMaxURLEncoded+8192)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.writeCode(w, 10019, "url_image 大小超过4M")
			return
		}
		a.writeCode(w, 10015, "")
		return
	}
	if code, info := a.check(r.Form); code != 0 {
		a.writeCode(w, code, info)
		return
	}
	side := r.Form.Get("id_card_side")
	data, info := a.image(r, r.Form.Get("url_image"))
	if info != "" {
		a.writeCode(w, 10019, info)
		return
	}
	card, seen, err := a.cards.Recognize(data)
	switch {
	case errors.Is(err, ErrNoCard):
		a.writeApistore(w, map[string]any{"codeid": 10000, "message": "识别成功",
			"image_status": "non_idcard", "idcard_number_type": -1, "retdata": map[string]string{}})
		return
	case err != nil:
		a.writeCode(w, 10019, "图片格式错误")
		return
	}
	status := "normal"
	if side != "" && side != string(seen) {
		status = "reversed_side"
	}
	body := map[string]any{"codeid": 10000, "message": "识别成功", "image_status": status}
	if seen == SideFront {
		body["idcard_number_type"] = numberType(card)
		body["retdata"] = map[string]string{
			"姓名": card.Name, "性别": card.Sex, "民族": card.Ethnicity, "出生": compactDate(card.Birth),
			"住址": card.Address, "公民身份号码": card.IDNumber,
		}
	} else {
		body["retdata"] = map[string]string{
			"签发机关": card.Authority, "签发日期": compactDate(card.ValidFrom), "失效日期": compactDate(card.ValidTo),
		}
	}
	a.writeApistore(w, body)
}

// check validates the platform parameters and the sign; it returns the
// status code to answer, or 0.
func (a *Apistore) check(form url.Values) (code int, info string) {
	for name := range form {
		if !slices.Contains(apistoreParams, name) {
			return 10015, "参数个数错误: " + name
		}
	}
	appid, sign := form.Get("appid"), form.Get("sign")
	switch {
	case appid == "":
		return 10001, ""
	case sign == "":
		return 10002, ""
	case appid != a.appID:
		return 10005, ""
	}
	if ts := form.Get("time"); ts != "" {
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return 10017, ""
		}
		if d := a.now().Sub(time.Unix(sec, 0)); d > apistoreMaxSkew || d < -apistoreMaxSkew {
			return 10004, ""
		}
	}
	if subtle.ConstantTimeCompare([]byte(sign), []byte(a.expectedSign(form))) != 1 {
		return 10003, ""
	}
	switch form.Get("format") {
	case "", "json":
	case "xml":
		return 10019, "沙箱仅支持 format=json"
	default:
		return 10019, "format 参数错误"
	}
	switch form.Get("id_card_side") {
	case "", "front", "back":
	default:
		return 10019, "id_card_side 参数错误"
	}
	return 0, ""
}

// expectedSign follows the document's PHP sample line by line: ksort,
// skip values with strlen 0, append key then value, append the secret,
// md5() (lowercase hex). sign itself is not among the signed parameters.
func (a *Apistore) expectedSign(form url.Values) string {
	var names []string
	for name := range form {
		if name != "sign" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var s strings.Builder
	for _, name := range names {
		if v := form.Get(name); len(v) > 0 {
			s.WriteString(name + v)
		}
	}
	sum := md5.Sum([]byte(s.String() + a.secret))
	return hex.EncodeToString(sum[:])
}

// image reads url_image (a URL or base64) and checks the documented size,
// format and pixel limits. info is the 10019 message when it fails.
func (a *Apistore) image(r *http.Request, v string) (data []byte, info string) {
	if v == "" {
		return nil, "url_image 不能为空"
	}
	if strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://") {
		if len(v) > apistoreMaxURL {
			return nil, "URL长度不超过1024字节"
		}
		var ok bool
		if data, ok = a.download(r, v); !ok {
			return nil, "图片下载失败"
		}
		if len(url.QueryEscape(base64.StdEncoding.EncodeToString(data))) > apistoreMaxURLEncoded {
			return nil, "图片大小超过4M"
		}
	} else {
		if len(url.QueryEscape(v)) > apistoreMaxURLEncoded {
			return nil, "图片大小超过4M"
		}
		var err error
		if data, err = base64.StdEncoding.DecodeString(v); err != nil {
			return nil, "图片格式错误"
		}
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || (format != "jpeg" && format != "png" && format != "bmp") {
		return nil, "图片格式错误"
	}
	if min(cfg.Width, cfg.Height) < apistoreMinSide || max(cfg.Width, cfg.Height) > apistoreMaxSide {
		return nil, "图片尺寸不符合要求: 最短边至少15px,最长边最大4096px"
	}
	if format == "bmp" { // the card matcher reads PNG and JPEG only
		img, err := bmp.Decode(bytes.NewReader(data))
		var buf bytes.Buffer
		if err != nil || png.Encode(&buf, img) != nil {
			return nil, "图片格式错误"
		}
		data = buf.Bytes()
	}
	return data, ""
}

// download fetches a url_image URL, at most what fits the 4M limit.
func (a *Apistore) download(r *http.Request, raw string) ([]byte, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, false
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, false
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, false
	}
	const maxRaw = apistoreMaxURLEncoded / 4 * 3
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxRaw+1))
	if err != nil || len(data) > maxRaw {
		return nil, false
	}
	return data, true
}

// compactDate writes a fixture date YYYY-MM-DD as YYYYMMDD; "长期" stays.
func compactDate(s string) string { return strings.ReplaceAll(s, "-", "") }

// numberType is idcard_number_type for a front: 0 for a number failing
// GB 11643, else 1-4 from how the number agrees with sex and birth.
func numberType(c idcard.Card) int {
	id := c.IDNumber
	if !validIDNumber(id) {
		return 0
	}
	birthOK := id[6:14] == compactDate(c.Birth)
	male := (id[16]-'0')%2 == 1 // the 17th digit is odd for men
	sexOK := male == (c.Sex == "男")
	switch {
	case birthOK && sexOK:
		return 1
	case !birthOK && !sexOK:
		return 2
	case !birthOK:
		return 3
	default:
		return 4
	}
}

// validIDNumber checks an 18-character number's GB 11643-1999 MOD 11-2
// check digit.
func validIDNumber(id string) bool {
	if len(id) != 18 {
		return false
	}
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		d := id[i]
		if d < '0' || d > '9' {
			return false
		}
		sum += int(d-'0') * w
	}
	return id[17] == "10X98765432"[sum%11]
}
