package main

import (
	"fmt"
	"time"
)

// person is one invented card holder. The pinyin fields exist only because
// the generator can render ASCII alone; the Chinese fields are what lands in
// cards.json and what the fakes answer with.
type person struct {
	key             string
	name, pinyin    string
	sex             string // "男" or "女"; must agree with the parity of seq
	ethnicity       string
	ethnicityPinyin string
	region          string // real county-level code, so region lookups in tests resolve
	birth           string // YYYY-MM-DD
	seq             int    // 3-digit order code; odd for men, even for women
	address         string
	addressPinyin   string
	authority       string
	authorityPinyin string
	validFrom       string // YYYY-MM-DD; validity end is derived from the age at issue
	check           string // "match", "mismatch" or "no_record"
	tint            [3]int // per-channel offset, only so humans can tell cards apart
	wantX           bool   // documents which card was chosen for its X check digit
}

// people is the fixed cast. Each entry exists for one test scenario named by
// its key; changing any of them changes the images and breaks fixtures that
// hard-code names or numbers, so add new entries rather than editing these.
var people = []person{
	{key: "male", name: "林浩然", pinyin: "LIN HAORAN", sex: "男", ethnicity: "汉", ethnicityPinyin: "HAN",
		region: "110101", birth: "1990-05-14", seq: 213,
		address: "北京市东城区青竹胡同17号", addressPinyin: "BEIJING SHI DONGCHENG QU QINGZHU HUTONG 17 HAO",
		authority: "北京市公安局东城分局", authorityPinyin: "BEIJING SHI GONGANJU DONGCHENG FENJU",
		validFrom: "2016-08-20", check: "match", tint: [3]int{-10, 0, 18}},
	{key: "female", name: "陈雨桐", pinyin: "CHEN YUTONG", sex: "女", ethnicity: "汉", ethnicityPinyin: "HAN",
		region: "310104", birth: "1995-11-02", seq: 124,
		address: "上海市徐汇区桂雨路288弄5号601室", addressPinyin: "SHANGHAI SHI XUHUI QU GUIYU LU 288 NONG 5 HAO 601 SHI",
		authority: "上海市公安局徐汇分局", authorityPinyin: "SHANGHAI SHI GONGANJU XUHUI FENJU",
		validFrom: "2019-03-11", check: "match", tint: [3]int{18, -4, 4}},
	{key: "longterm", name: "王秀芬", pinyin: "WANG XIUFEN", sex: "女", ethnicity: "汉", ethnicityPinyin: "HAN",
		region: "510107", birth: "1958-02-27", seq: 62,
		address: "四川省成都市武侯区锦云巷9号", addressPinyin: "SICHUAN SHENG CHENGDU SHI WUHOU QU JINYUN XIANG 9 HAO",
		authority: "成都市公安局武侯区分局", authorityPinyin: "CHENGDU SHI GONGANJU WUHOU QU FENJU",
		validFrom: "2012-06-05", check: "match", tint: [3]int{14, 10, -16}},
	{key: "mismatch", name: "赵子轩", pinyin: "ZHAO ZIXUAN", sex: "男", ethnicity: "汉", ethnicityPinyin: "HAN",
		region: "440305", birth: "1988-07-19", seq: 317,
		address: "广东省深圳市南山区星桥路66号3栋1502", addressPinyin: "GUANGDONG SHENG SHENZHEN SHI NANSHAN QU XINGQIAO LU 66 HAO 3 DONG 1502",
		authority: "深圳市公安局南山分局", authorityPinyin: "SHENZHEN SHI GONGANJU NANSHAN FENJU",
		validFrom: "2014-10-08", check: "mismatch", tint: [3]int{-14, 12, -6}},
	{key: "expired", name: "刘思远", pinyin: "LIU SIYUAN", sex: "男", ethnicity: "汉", ethnicityPinyin: "HAN",
		region: "330106", birth: "1992-04-30", seq: 91,
		address: "浙江省杭州市西湖区松鹤街8号", addressPinyin: "ZHEJIANG SHENG HANGZHOU SHI XIHU QU SONGHE JIE 8 HAO",
		authority: "杭州市公安局西湖分局", authorityPinyin: "HANGZHOU SHI GONGANJU XIHU FENJU",
		validFrom: "2012-05-20", check: "match", tint: [3]int{20, -10, -20}},
	{key: "xdigit", name: "周晓梅", pinyin: "ZHOU XIAOMEI", sex: "女", ethnicity: "汉", ethnicityPinyin: "HAN",
		region: "420106", birth: "1983-09-08", seq: 28,
		address: "湖北省武汉市武昌区梧桐里21号", addressPinyin: "HUBEI SHENG WUHAN SHI WUCHANG QU WUTONG LI 21 HAO",
		authority: "武汉市公安局武昌分局", authorityPinyin: "WUHAN SHI GONGANJU WUCHANG FENJU",
		validFrom: "2015-01-22", check: "match", tint: [3]int{10, -8, 16}, wantX: true},
	{key: "minority", name: "艾力·吐尔逊", pinyin: "AILI TUERXUN", sex: "男", ethnicity: "维吾尔", ethnicityPinyin: "WEIWUER",
		region: "650102", birth: "1993-06-21", seq: 135,
		address: "新疆乌鲁木齐市天山区石榴巷21号", addressPinyin: "XINJIANG WULUMUQI SHI TIANSHAN QU SHILIU XIANG 21 HAO",
		authority: "乌鲁木齐市公安局天山区分局", authorityPinyin: "WULUMUQI SHI GONGANJU TIANSHAN QU FENJU",
		validFrom: "2017-11-03", check: "match", tint: [3]int{-18, 10, 14}},
	{key: "minor", name: "孙乐言", pinyin: "SUN LEYAN", sex: "女", ethnicity: "汉", ethnicityPinyin: "HAN",
		region: "440305", birth: "2010-03-15", seq: 206,
		address: "广东省深圳市南山区竹溪路12号", addressPinyin: "GUANGDONG SHENG SHENZHEN SHI NANSHAN QU ZHUXI LU 12 HAO",
		authority: "深圳市公安局南山分局", authorityPinyin: "SHENZHEN SHI GONGANJU NANSHAN FENJU",
		validFrom: "2024-07-01", check: "match", tint: [3]int{4, 16, -12}},
	{key: "norecord", name: "吴嘉禾", pinyin: "WU JIAHE", sex: "男", ethnicity: "汉", ethnicityPinyin: "HAN",
		region: "510107", birth: "1979-10-10", seq: 153,
		address: "四川省成都市武侯区云杉街45号", addressPinyin: "SICHUAN SHENG CHENGDU SHI WUHOU QU YUNSHAN JIE 45 HAO",
		authority: "成都市公安局武侯区分局", authorityPinyin: "CHENGDU SHI GONGANJU WUHOU QU FENJU",
		validFrom: "2011-04-18", check: "no_record", tint: [3]int{0, 0, 0}},
}

// idNumber assembles the 18-character number so that the check digit is
// always computed rather than typed by hand, which is where fixtures rot.
func (p person) idNumber() string {
	body := p.region + p.birth[0:4] + p.birth[5:7] + p.birth[8:10] + fmt.Sprintf("%03d", p.seq)
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(body[i]-'0') * w
	}
	return body + string("10X98765432"[sum%11])
}

// validTo applies the statutory validity periods (5/10/20 years or long-term
// by age at issue) so that expiry scenarios look like real cards do.
func (p person) validTo() string {
	birth := mustDate(p.birth)
	from := mustDate(p.validFrom)
	age := from.Year() - birth.Year()
	if from.Month() < birth.Month() || (from.Month() == birth.Month() && from.Day() < birth.Day()) {
		age--
	}
	var years int
	switch {
	case age < 16:
		years = 5
	case age < 26:
		years = 10
	case age < 46:
		years = 20
	default:
		return "长期"
	}
	return from.AddDate(years, 0, 0).Format(time.DateOnly)
}

// validate fails generation early when a table edit breaks an invariant the
// tests rely on, so a bad edit never reaches the committed fixtures.
func (p person) validate() error {
	id := p.idNumber()
	if (id[17] == 'X') != p.wantX {
		return fmt.Errorf("%s: check digit of %s does not match wantX=%v", p.key, id, p.wantX)
	}
	if male := p.seq%2 == 1; male != (p.sex == "男") {
		return fmt.Errorf("%s: sequence %03d disagrees with sex %s", p.key, p.seq, p.sex)
	}
	if p.seq < 1 || p.seq > 999 {
		return fmt.Errorf("%s: sequence %d out of range", p.key, p.seq)
	}
	mustDate(p.birth)
	mustDate(p.validFrom)
	return nil
}

func mustDate(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}
