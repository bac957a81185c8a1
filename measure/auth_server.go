package measure

import (
	"bufio"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// AuthorizedUsers maps a user name to the hex SHA-256 of "{user}password",
// as in iperf3's --authorized-users-path file.
type AuthorizedUsers map[string]string

// HashPassword returns the users-file hash iperf3 expects for user and
// password: hex(sha256("{user}password")).
func HashPassword(user, password string) string {
	h := sha256.Sum256([]byte("{" + user + "}" + password))
	return hex.EncodeToString(h[:])
}

// ParseAuthorizedUsers reads iperf3's users file: one "user,hash" per line
// (hash as HashPassword makes it), lines starting with # and empty lines
// ignored.
func ParseAuthorizedUsers(r io.Reader) (AuthorizedUsers, error) {
	users := AuthorizedUsers{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		user, hash, ok := strings.Cut(line, ",")
		user, hash = strings.TrimSpace(user), strings.ToLower(strings.TrimSpace(hash))
		if !ok || user == "" {
			return nil, fmt.Errorf("authorized users line %d: want user,sha256hex", n)
		}
		if b, err := hex.DecodeString(hash); err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("authorized users line %d (user %q): hash must be 64 hex digits of sha256(\"{user}password\")", n, user)
		}
		users[user] = hash
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("authorized users: %w", err)
	}
	return users, nil
}

// LoadAuthorizedUsers reads an iperf3 users file from path.
func LoadAuthorizedUsers(path string) (AuthorizedUsers, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	users, err := ParseAuthorizedUsers(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return users, nil
}

// ParseRSAPrivateKey reads an unencrypted RSA private key in PEM, PKCS#1
// ("RSA PRIVATE KEY") or PKCS#8 ("PRIVATE KEY"), as iperf3 accepts them.
func ParseRSAPrivateKey(data []byte) (*rsa.PrivateKey, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, errors.New("RSA private key: no PEM block \"RSA PRIVATE KEY\" or \"PRIVATE KEY\" found")
		}
		switch block.Type {
		case "RSA PRIVATE KEY":
			if _, enc := block.Headers["DEK-Info"]; enc {
				return nil, errors.New("RSA private key: encrypted keys are not supported; decrypt it with `openssl rsa`")
			}
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("RSA private key: %w", err)
			}
			return k, nil
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("RSA private key: %w", err)
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("RSA private key: the key is %T, not RSA", k)
			}
			return rk, nil
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("RSA private key: encrypted keys are not supported; decrypt it with `openssl rsa`")
		}
	}
}

// serverAuth checks iperf3 auth tokens.
type serverAuth struct {
	key   *rsa.PrivateKey
	users AuthorizedUsers
	skew  time.Duration

	mu   sync.Mutex
	seen map[[sha256.Size]byte]time.Time // accepted tokens, until they expire
}

func newServerAuth(keyPEM []byte, users AuthorizedUsers, skew time.Duration) (*serverAuth, error) {
	if len(keyPEM) == 0 || users == nil {
		return nil, errors.New("measure: server: authentication needs both RSAPrivateKey and AuthorizedUsers")
	}
	key, err := ParseRSAPrivateKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("measure: server: %w", err)
	}
	return &serverAuth{key: key, users: users, skew: skew, seen: make(map[[sha256.Size]byte]time.Time)}, nil
}

// maxAuthToken bounds the base64 token: 16384-bit keys fit.
const maxAuthToken = 4096

// check verifies a token and returns the user it names. Every error wraps
// ErrAuthFailed and says what was wrong, for the server's log; the client
// only learns that authorization failed.
func (a *serverAuth) check(token string, now time.Time) (string, error) {
	if token == "" {
		return "", fmt.Errorf("%w: the client sent no credentials (--username, --rsa-public-key-path)", ErrAuthFailed)
	}
	if len(token) > maxAuthToken {
		return "", fmt.Errorf("%w: token of %d bytes; allowed up to %d", ErrAuthFailed, len(token), maxAuthToken)
	}
	ct, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(token), ""))
	if err != nil {
		return "", fmt.Errorf("%w: token is not base64", ErrAuthFailed)
	}
	plain, err := a.decrypt(ct)
	if err != nil {
		return "", err
	}
	user, pass, ts, err := parseAuthPlaintext(plain)
	if err != nil {
		return "", err
	}
	if off := now.Sub(time.Unix(ts, 0)); off > a.skew || off < -a.skew {
		return user, fmt.Errorf("%w: user %q: token time is %s off this host's clock; allowed ±%s", ErrAuthFailed, user, off.Round(time.Second), a.skew)
	}
	want, ok := a.users[user]
	got := HashPassword(user, pass)
	if !ok {
		want = strings.Repeat("0", len(got)) // compare anyway: same time for unknown users
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 || !ok {
		return user, fmt.Errorf("%w: user %q: unknown user or wrong password", ErrAuthFailed, user)
	}
	if err := a.remember(ct, now); err != nil {
		return user, fmt.Errorf("%w: user %q: %v", ErrAuthFailed, user, err)
	}
	return user, nil
}

// decrypt tries OAEP (iperf3 3.17+) and then PKCS#1 v1.5 (older clients and
// --use-pkcs1-padding).
func (a *serverAuth) decrypt(ct []byte) ([]byte, error) {
	if len(ct) != a.key.Size() {
		return nil, fmt.Errorf("%w: token of %d bytes does not match the %d-bit key", ErrAuthFailed, len(ct), a.key.N.BitLen())
	}
	if p, err := rsa.DecryptOAEP(sha1.New(), nil, a.key, ct, nil); err == nil {
		return p, nil
	}
	//lint:ignore SA1019 stock iperf3 clients before 3.17 only send PKCS#1 v1.5 tokens.
	if p, err := rsa.DecryptPKCS1v15(nil, a.key, ct); err == nil { //nolint:staticcheck // as above
		return p, nil
	}
	return nil, fmt.Errorf("%w: token does not decrypt with the server's key (wrong public key on the client?)", ErrAuthFailed)
}

// parseAuthPlaintext reads "user: U\npwd:  P\nts:   T" (iperf3's format,
// read as its sscanf does: whitespace-separated words).
func parseAuthPlaintext(b []byte) (user, pass string, ts int64, err error) {
	f := strings.Fields(string(b))
	if len(f) != 6 || f[0] != "user:" || f[2] != "pwd:" || f[4] != "ts:" {
		return "", "", 0, fmt.Errorf("%w: token content is not \"user: U pwd: P ts: T\"", ErrAuthFailed)
	}
	ts, perr := strconv.ParseInt(f[5], 10, 64)
	if perr != nil {
		return "", "", 0, fmt.Errorf("%w: token timestamp %.20q is not an integer", ErrAuthFailed, f[5])
	}
	return f[1], f[3], ts, nil
}

// remember refuses a token already accepted within the skew window (a
// replay) and records it otherwise.
func (a *serverAuth) remember(ct []byte, now time.Time) error {
	sum := sha256.Sum256(ct)
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, exp := range a.seen {
		if now.After(exp) {
			delete(a.seen, k)
		}
	}
	if exp, ok := a.seen[sum]; ok && !now.After(exp) {
		return errors.New("token already used (replay)")
	}
	a.seen[sum] = now.Add(2 * a.skew)
	return nil
}
