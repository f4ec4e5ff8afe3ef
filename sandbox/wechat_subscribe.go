package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"unicode/utf8"
)

// SubscribeMessage is one cgi-bin/message/subscribe/send the fake took,
// as the control endpoint lists it.
type SubscribeMessage struct {
	ToUser           string                       `json:"touser"`
	TemplateID       string                       `json:"template_id"`
	Page             string                       `json:"page"`
	Data             map[string]map[string]string `json:"data"`
	MiniprogramState string                       `json:"miniprogram_state"`
	Lang             string                       `json:"lang"`
	ErrCode          int                          `json:"errcode"` // what the fake answered
}

// serveSubscribeSend follows subscribeMessage.send: access_token in the
// query, a JSON body with touser, template_id and data of
// {"key": {"value": "…"}}. Its documented errors: 40003 touser invalid,
// 40037 template_id invalid, 43101 the user refused (has not subscribed,
// or used up their one-time subscription), 47003 a value breaks its
// keyword's rule (too long for thing/phrase, empty). The fake answers 43101
// for every message while refusals are switched on.
func (w *WeChat) serveSubscribeSend(rw http.ResponseWriter, r *http.Request) {
	if !w.tokenOK(rw, r) {
		return
	}
	var msg struct {
		SubscribeMessage
		Data map[string]struct {
			Value any `json:"value"`
		} `json:"data"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err := json.Unmarshal(body, &msg); err != nil {
		writeWx(rw, wxErr(47001))
		return
	}
	m := msg.SubscribeMessage
	m.Data = map[string]map[string]string{}
	code := 0
	for k, v := range msg.Data {
		s, _ := v.Value.(string)
		m.Data[k] = map[string]string{"value": s}
		if s == "" || !keywordOK(k, s) {
			code = 47003
		}
	}
	w.mu.Lock()
	refuse := w.refuseSubscribe
	w.mu.Unlock()
	switch {
	case len(m.ToUser) != 28:
		code = 40003
	case m.TemplateID == "":
		code = 40037
	case len(m.Data) == 0:
		code = 47003
	case refuse:
		code = 43101
	}
	m.ErrCode = code
	w.mu.Lock()
	w.subscribeSent = append(w.subscribeSent, m)
	w.mu.Unlock()
	if code != 0 {
		writeWx(rw, &WeChatError{Code: code, Msg: subscribeMessage(code)})
		return
	}
	writeWx(rw, map[string]any{"errcode": 0, "errmsg": "ok", "msgid": len(w.subscribeSent)})
}

// keywordOK applies the documented length rules of the keyword types the
// fake knows by their name's prefix (thing1, phrase2, time3 …).
func keywordOK(key, v string) bool {
	n := utf8.RuneCountInString(v)
	switch {
	case len(key) > 5 && key[:5] == "thing":
		return n <= 20
	case len(key) > 6 && key[:6] == "phrase":
		return n <= 5
	case len(key) > 4 && key[:4] == "time":
		return n <= 32
	}
	return n <= 32
}

func subscribeMessage(code int) string {
	switch code {
	case 40003:
		return "invalid openid"
	case 40037:
		return "invalid template_id"
	case 43101:
		return "user refuse to accept the msg"
	case 47003:
		return "argument invalid! data.thing2.value invalid"
	}
	return wxMessage(code)
}

// controlSubscribe lists the messages taken (GET) or switches refusals on
// and off (POST {"refuse": true}).
func (w *WeChat) controlSubscribe(rw http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		var req struct {
			Refuse bool `json:"refuse"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<10)).Decode(&req); err != nil {
			http.Error(rw, "want {\"refuse\": bool}", http.StatusBadRequest)
			return
		}
		w.mu.Lock()
		w.refuseSubscribe = req.Refuse
		w.mu.Unlock()
		rw.WriteHeader(http.StatusNoContent)
		return
	}
	w.mu.Lock()
	out := append([]SubscribeMessage{}, w.subscribeSent...)
	w.mu.Unlock()
	writeJSON(rw, http.StatusOK, map[string]any{"messages": out})
}
