package sshsig

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Errors. Every error Parse, Verify and the allowed-signers checks return
// wraps one of these.
var (
	// ErrMalformed: the signature is not a well-formed SSHSIG document
	// (armor, magic, version, fields, key or signature encoding).
	ErrMalformed = errors.New("sshsig: malformed signature")
	// ErrBadSignature: the signature does not verify over the message
	// with the key it names, or it was made for another namespace or
	// with an unsupported hash.
	ErrBadSignature = errors.New("sshsig: bad signature")
	// ErrUntrustedSigner: the signature is valid, but no line of the
	// allowed-signers policy trusts its key for the namespace at the
	// verification time.
	ErrUntrustedSigner = errors.New("sshsig: untrusted signer")
	// ErrInvalidPolicy: an allowed-signers file could not be parsed.
	ErrInvalidPolicy = errors.New("sshsig: invalid allowed signers")
)

const (
	magic      = "SSHSIG"
	sigVersion = 1
	armorBegin = "-----BEGIN SSH SIGNATURE-----"
	armorEnd   = "-----END SSH SIGNATURE-----"
	// maxArmored bounds the armored signature Parse accepts: RSA-16384
	// signatures with their keys stay well below it.
	maxArmored = 64 << 10
)

// Signature is a parsed SSHSIG signature: the signer's public key, the
// namespace it was made for, the hash algorithm and the raw signature.
type Signature struct {
	PublicKey     ssh.PublicKey
	Namespace     string
	HashAlgorithm string // "sha512" or "sha256"
	Signature     *ssh.Signature
}

// wire forms, in the order of PROTOCOL.sshsig.
type wireSig struct {
	Magic         [6]byte
	Version       uint32
	PublicKey     []byte
	Namespace     string
	Reserved      string
	HashAlgorithm string
	Signature     []byte
}

type signedData struct {
	Magic         [6]byte
	Namespace     string
	Reserved      string
	HashAlgorithm string
	Hash          []byte
}

func newHash(alg string) (hash.Hash, error) {
	switch alg {
	case "sha512":
		return sha512.New(), nil
	case "sha256":
		return sha256.New(), nil
	}
	return nil, fmt.Errorf("%w: hash algorithm %q", ErrBadSignature, alg)
}

func digest(alg string, message io.Reader) ([]byte, error) {
	h, err := newHash(alg)
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(h, message); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

func toSign(namespace, alg string, sum []byte) []byte {
	d := signedData{Namespace: namespace, HashAlgorithm: alg, Hash: sum}
	copy(d.Magic[:], magic)
	return ssh.Marshal(d)
}

// Sign signs message for namespace with signer, as `ssh-keygen -Y sign -n
// namespace` does (SHA-512; RSA keys sign with rsa-sha2-512), and returns
// the armored signature. signer may be an ssh.Signer (an agent's, say) or
// any crypto.Signer with an Ed25519, ECDSA or RSA key.
func Sign(signer any, namespace string, message io.Reader) ([]byte, error) {
	if namespace == "" {
		return nil, errors.New("sshsig: empty namespace")
	}
	var s ssh.Signer
	switch v := signer.(type) {
	case ssh.Signer:
		s = v
	case crypto.Signer:
		var err error
		if s, err = ssh.NewSignerFromSigner(v); err != nil {
			return nil, fmt.Errorf("sshsig: %w", err)
		}
	default:
		return nil, fmt.Errorf("sshsig: %T is neither an ssh.Signer nor a crypto.Signer", signer)
	}
	sum, err := digest("sha512", message)
	if err != nil {
		return nil, err
	}
	data := toSign(namespace, "sha512", sum)
	var sig *ssh.Signature
	if as, ok := s.(ssh.AlgorithmSigner); ok && s.PublicKey().Type() == ssh.KeyAlgoRSA {
		sig, err = as.SignWithAlgorithm(rand.Reader, data, ssh.KeyAlgoRSASHA512)
	} else {
		sig, err = s.Sign(rand.Reader, data)
	}
	if err != nil {
		return nil, fmt.Errorf("sshsig: sign: %w", err)
	}
	w := wireSig{
		Version:       sigVersion,
		PublicKey:     s.PublicKey().Marshal(),
		Namespace:     namespace,
		HashAlgorithm: "sha512",
		Signature:     ssh.Marshal(sig),
	}
	copy(w.Magic[:], magic)
	return armor(ssh.Marshal(w)), nil
}

func armor(raw []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(raw)
	var b bytes.Buffer
	b.WriteString(armorBegin + "\n")
	for len(enc) > 70 {
		b.WriteString(enc[:70] + "\n")
		enc = enc[70:]
	}
	b.WriteString(enc + "\n" + armorEnd + "\n")
	return b.Bytes()
}

// Parse parses an armored SSHSIG signature, as `ssh-keygen -Y sign`
// writes it. It checks the structure, not the signature: see Verify.
func Parse(armored []byte) (*Signature, error) {
	if len(armored) > maxArmored {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, maxArmored)
	}
	text := strings.TrimSpace(strings.ReplaceAll(string(armored), "\r\n", "\n"))
	if !strings.HasPrefix(text, armorBegin) || !strings.HasSuffix(text, armorEnd) {
		return nil, fmt.Errorf("%w: missing %q armor", ErrMalformed, "SSH SIGNATURE")
	}
	body := strings.TrimSuffix(strings.TrimPrefix(text, armorBegin), armorEnd)
	body = strings.Join(strings.Fields(body), "")
	raw, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("%w: base64: %v", ErrMalformed, err)
	}
	var w wireSig
	if err := ssh.Unmarshal(raw, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if string(w.Magic[:]) != magic {
		return nil, fmt.Errorf("%w: bad magic", ErrMalformed)
	}
	if w.Version != sigVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrMalformed, w.Version, sigVersion)
	}
	pub, err := ssh.ParsePublicKey(w.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: public key: %v", ErrMalformed, err)
	}
	if _, ok := pub.(*ssh.Certificate); ok {
		return nil, fmt.Errorf("%w: certificate signers are not supported", ErrMalformed)
	}
	sig := new(ssh.Signature)
	if err := ssh.Unmarshal(w.Signature, sig); err != nil {
		return nil, fmt.Errorf("%w: signature blob: %v", ErrMalformed, err)
	}
	return &Signature{PublicKey: pub, Namespace: w.Namespace, HashAlgorithm: w.HashAlgorithm, Signature: sig}, nil
}

// Verify checks that s is a signature over message for namespace by the
// key s names. It says nothing about whether that key is trusted: see
// AllowedSigners.Verify. RSA signatures must use rsa-sha2-256 or -512, as
// OpenSSH requires.
func (s *Signature) Verify(message io.Reader, namespace string) error {
	if s.Namespace != namespace {
		return fmt.Errorf("%w: namespace %q, want %q", ErrBadSignature, s.Namespace, namespace)
	}
	if s.PublicKey.Type() == ssh.KeyAlgoRSA && s.Signature.Format == ssh.KeyAlgoRSA {
		return fmt.Errorf("%w: RSA signature with SHA-1", ErrBadSignature)
	}
	sum, err := digest(s.HashAlgorithm, message)
	if err != nil {
		return err
	}
	if err := s.PublicKey.Verify(toSign(s.Namespace, s.HashAlgorithm, sum), s.Signature); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return nil
}

// Fingerprint returns the key's SHA256 fingerprint as ssh-keygen -l
// prints it ("SHA256:...").
func (s *Signature) Fingerprint() string { return ssh.FingerprintSHA256(s.PublicKey) }
