package merchant

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/storemedia/alipay-media-worker/internal/conffile"
)

// KeySize is the size in bytes of an encryption key (AES-256).
const KeySize = 32

// keyIDLen is how many bytes of a key's SHA-256 name it in sealed values.
const keyIDLen = 4

// Keyring holds the keys that seal merchants' tokens at rest: AES-256-GCM
// with a random nonce. The first key seals; every key opens, so a key file
// can be rotated by putting a new key first and keeping the old ones after
// it until every record was sealed again (each refresh or authorization
// re-seals a merchant's record with the first key; [Store.Reseal] re-seals
// them all).
//
// A sealed value names the key that sealed it by a short key id (the first
// bytes of the key's SHA-256, in hex), so opening tries the right key only
// and a key file that lacks it gives an error that says so. A Keyring is
// safe for concurrent use.
type Keyring struct {
	keys []ringKey
}

type ringKey struct {
	id   string
	aead cipher.AEAD
}

// GenerateKey returns a new key as a key file line: the standard base64 of
// 32 bytes from crypto/rand (`openssl rand -base64 32` makes one too).
func GenerateKey() (string, error) {
	var k [KeySize]byte
	if _, err := rand.Read(k[:]); err != nil {
		return "", fmt.Errorf("merchant: generate key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(k[:]), nil
}

// NewKeyring returns a keyring of keys, each [KeySize] bytes; the first
// seals. At least one key is required, and a key may not appear twice.
func NewKeyring(keys ...[]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no key given", ErrKey)
	}
	k := &Keyring{}
	seen := map[string]int{}
	for i, key := range keys {
		if len(key) != KeySize {
			return nil, fmt.Errorf("%w: key %d has %d bytes, want %d", ErrKey, i+1, len(key), KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d: %v", ErrKey, i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d: %v", ErrKey, i+1, err)
		}
		id := keyID(key)
		if j, dup := seen[id]; dup {
			return nil, fmt.Errorf("%w: key %d is key %d again", ErrKey, i+1, j)
		}
		seen[id] = i + 1
		k.keys = append(k.keys, ringKey{id: id, aead: aead})
	}
	return k, nil
}

// LoadKeyring reads a key file: one key a line, the standard base64 of 32
// bytes (as [GenerateKey] makes them); blank lines and lines starting with
// '#' are ignored. The first key seals, all open. The file is read as every
// secret file is (a regular file, bounded size); its content never appears
// in an error.
func LoadKeyring(path string) (*Keyring, error) {
	data, err := conffile.Read(path, conffile.MaxSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	var keys [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), conffile.MaxSize)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, err := base64.StdEncoding.DecodeString(line)
		if err != nil || len(key) != KeySize {
			return nil, fmt.Errorf("%w %s, line %d: not the standard base64 of %d bytes (make one with `openssl rand -base64 32`)",
				ErrKey, path, n, KeySize)
		}
		keys = append(keys, key)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrKey, path, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w %s holds no key (make one with `openssl rand -base64 32`)", ErrKey, path)
	}
	k, err := NewKeyring(keys...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// keyID names a key in sealed values: hex of the first bytes of its SHA-256.
func keyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:keyIDLen])
}

// KeyIDs returns the ids of the keys, the sealing key first.
func (k *Keyring) KeyIDs() []string {
	ids := make([]string, len(k.keys))
	for i, rk := range k.keys {
		ids[i] = rk.id
	}
	return ids
}

// Seal encrypts plaintext with the first key and returns
// "<key id>:<base64url of nonce and ciphertext>". ad (associated data) is
// authenticated but not stored: Open must be given the same ad, which
// binds the sealed value to its place (e.g. a merchant's auth_app_id and
// the field name), so values cannot be swapped between records or fields.
func (k *Keyring) Seal(plaintext, ad []byte) (string, error) {
	rk := k.keys[0]
	nonce := make([]byte, rk.aead.NonceSize(), rk.aead.NonceSize()+len(plaintext)+rk.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("merchant: seal: %w", err)
	}
	out := rk.aead.Seal(nonce, nonce, plaintext, ad)
	return rk.id + ":" + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts a value made by Seal with the same ad. A value sealed with
// a key the keyring lacks, tampered with, or bound to other ad gives an
// error matching [ErrKey] that says what to do.
func (k *Keyring) Open(sealed string, ad []byte) ([]byte, error) {
	id, enc, ok := strings.Cut(sealed, ":")
	if !ok {
		return nil, fmt.Errorf("%w: a stored secret is not in the key-id:data form", ErrKey)
	}
	for _, rk := range k.keys {
		if rk.id != id {
			continue
		}
		raw, err := base64.RawURLEncoding.DecodeString(enc)
		if err != nil || len(raw) < rk.aead.NonceSize()+rk.aead.Overhead() {
			return nil, fmt.Errorf("%w: a secret sealed with key %s is damaged", ErrKey, id)
		}
		n := rk.aead.NonceSize()
		pt, err := rk.aead.Open(nil, raw[:n], raw[n:], ad)
		if err != nil {
			return nil, fmt.Errorf("%w: a secret sealed with key %s does not open: altered, or moved from another record", ErrKey, id)
		}
		return pt, nil
	}
	return nil, fmt.Errorf("%w: a secret was sealed with key %s, which the key file lacks (it has %s): use the key file the records were sealed with, or keep the old key after the new one while rotating",
		ErrKey, id, strings.Join(k.KeyIDs(), ", "))
}
