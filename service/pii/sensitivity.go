package pii

// sensitivity is how the value under a key must be masked.
type sensitivity uint8

const (
	plain sensitivity = iota // only embedded ID/phone numbers are masked
	nameValue
	idValue
	phoneValue
	addressValue
	secretValue
)

// keySensitivity matches key case-insensitively with '_' and '-' removed, so
// "id_number", "idNumber" and "ID-Number" are all caught.
func keySensitivity(key string) sensitivity {
	var buf [16]byte // longer than every sensitive key
	n := 0
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '_' || c == '-':
			continue
		case n == len(buf):
			return plain
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		buf[n] = c
		n++
	}
	switch string(buf[:n]) {
	case "name", "realname", "fullname":
		return nameValue
	case "idnumber", "idcard", "idno":
		return idValue
	case "phone", "mobile":
		return phoneValue
	case "address", "addr":
		return addressValue
	case "sessionkey", "secret", "password", "token", "accesstoken", "authorization":
		return secretValue
	}
	return plain
}

// maskAs masks v the way values of sensitivity s are shown.
func maskAs(s sensitivity, v string) string {
	switch s {
	case nameValue:
		return MaskName(v)
	case idValue:
		return MaskIDNumber(v)
	case phoneValue:
		return MaskPhone(v)
	case addressValue:
		return MaskAddress(v)
	}
	return MaskText(v)
}
