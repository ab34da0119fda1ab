package tasks

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const sumHello = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" // sha256("hello")

func validPayload() UploadPayload {
	return UploadPayload{
		Version:   PayloadVersion,
		Path:      "/srv/media/shop/front.jpg",
		ImageName: "front",
		SHA256:    sumHello,
		Size:      5,
	}
}

func TestPayloadValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		modify func(*UploadPayload)
		want   error
		text   string
	}{
		{"valid", func(*UploadPayload) {}, nil, ""},
		{"version 0", func(p *UploadPayload) { p.Version = 0 }, ErrPayloadVersion, "version 0"},
		{"version 1", func(p *UploadPayload) { p.Version = 1 }, nil, ""},
		{"version 3", func(p *UploadPayload) { p.Version = 3 }, ErrPayloadVersion, "version 3"},
		{"v1 token", func(p *UploadPayload) { p.Version, p.AppAuthToken = 1, "202401BBsecret" }, nil, ""},
		{"v2 token in clear", func(p *UploadPayload) { p.AppAuthToken = "202401BBsecret" }, ErrInvalidPayload, "in clear is refused"},
		{"v2 merchant", func(p *UploadPayload) { p.Merchant = "2021000000000001" }, nil, ""},
		{"v1 merchant", func(p *UploadPayload) { p.Version, p.Merchant = 1, "2021000000000001" }, ErrInvalidPayload, "need payload version 2"},
		{"long merchant", func(p *UploadPayload) { p.Merchant = strings.Repeat("2", MaxMerchantLen+1) }, ErrInvalidPayload, "merchant is longer"},
		{"merchant with space", func(p *UploadPayload) { p.Merchant = "2021 0001" }, ErrInvalidPayload, "printable ASCII"},
		{"sealed", func(p *UploadPayload) { p.SealedToken, p.TokenDigest = "sealed", TokenDigest("tok") }, nil, ""},
		{"sealed without digest", func(p *UploadPayload) { p.SealedToken = "sealed" }, ErrInvalidPayload, "token_digest"},
		{"digest without sealed", func(p *UploadPayload) { p.TokenDigest = TokenDigest("tok") }, ErrInvalidPayload, "without sealed_token"},
		{"merchant and sealed", func(p *UploadPayload) {
			p.Merchant, p.SealedToken, p.TokenDigest = "2021000000000001", "sealed", TokenDigest("tok")
		}, ErrInvalidPayload, "not both"},
		{"empty path", func(p *UploadPayload) { p.Path = "" }, ErrInvalidPayload, "path is empty"},
		{"relative path", func(p *UploadPayload) { p.Path = "media/a.jpg" }, ErrInvalidPayload, "not absolute"},
		{"NUL in path", func(p *UploadPayload) { p.Path = "/a\x00b" }, ErrInvalidPayload, "NUL"},
		{"no name", func(p *UploadPayload) { p.ImageName = "" }, ErrInvalidPayload, "image_name is empty"},
		{"long name", func(p *UploadPayload) { p.ImageName = strings.Repeat("名", 129) }, ErrInvalidPayload, "over the limit of 128"},
		{"128 runes ok", func(p *UploadPayload) { p.ImageName = strings.Repeat("名", 128) }, nil, ""},
		{"bad utf8 name", func(p *UploadPayload) { p.ImageName = "a\xffb" }, ErrInvalidPayload, "UTF-8"},
		{"long type", func(p *UploadPayload) { p.ImageType = "verylongtype" }, ErrInvalidPayload, "image_type"},
		{"long pid", func(p *UploadPayload) { p.ImagePID = "20880000000000000" }, ErrInvalidPayload, "image_pid"},
		{"zero size", func(p *UploadPayload) { p.Size = 0 }, ErrInvalidPayload, "size 0"},
		{"short sum", func(p *UploadPayload) { p.SHA256 = "abc" }, ErrInvalidPayload, "sha256"},
		{"upper sum", func(p *UploadPayload) { p.SHA256 = strings.ToUpper(sumHello) }, ErrInvalidPayload, "sha256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := validPayload()
			tt.modify(&p)
			err := p.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Validate() = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("Validate() = %q, want it to mention %q", err, tt.text)
			}
		})
	}
}

func TestDecodeUploadPayload(t *testing.T) {
	t.Parallel()
	good := validPayload()
	good.Version, good.AppAuthToken = PayloadVersion1, "202401BBsecret"
	data, err := json.Marshal(good)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeUploadPayload(data)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if got != good {
		t.Errorf("round trip: got %+v, want %+v", got, good)
	}

	for name, in := range map[string]string{
		"not json":      "not json",
		"unknown field": `{"version":1,"path":"/a","image_name":"n","sha256":"` + sumHello + `","size":5,"extra":1}`,
		"trailing":      `{"version":1,"path":"/a","image_name":"n","sha256":"` + sumHello + `","size":5} {}`,
		"wrong type":    `{"version":"1"}`,
	} {
		if _, err := decodeUploadPayload([]byte(in)); !errors.Is(err, ErrInvalidPayload) {
			t.Errorf("%s: err = %v, want ErrInvalidPayload", name, err)
		}
	}
	_, err = decodeUploadPayload([]byte(`{"version":7,"path":"/a","image_name":"n","sha256":"` + sumHello + `","size":5}`))
	if !errors.Is(err, ErrPayloadVersion) {
		t.Errorf("version 7: err = %v, want ErrPayloadVersion", err)
	}
}

func TestDecodeErrorsNeverShowToken(t *testing.T) {
	t.Parallel()
	const token = "202401BBsecrettoken"
	for _, in := range []string{
		`{"version":1,"app_auth_token":"` + token + `","path":"rel","image_name":"n","sha256":"` + sumHello + `","size":5}`,
		`{"version":9,"app_auth_token":"` + token + `"}`,
		`{"version":1,"app_auth_token":` + token + `}`,
		`{"app_auth_token":"` + token + `","bogus":"x"}`,
	} {
		_, err := decodeUploadPayload([]byte(in))
		if err == nil {
			t.Fatalf("decode %s: no error", in)
		}
		if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "secret") {
			t.Errorf("error %q reveals the token", err)
		}
	}
}

func TestDigest(t *testing.T) {
	t.Parallel()
	sum, n, err := Digest(strings.NewReader("hello"))
	if err != nil || sum != sumHello || n != 5 {
		t.Fatalf("Digest = %q, %d, %v; want %q, 5, nil", sum, n, err, sumHello)
	}
}
