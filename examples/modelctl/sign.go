package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"golang.org/x/crypto/ssh"

	"github.com/modelvault/modelvault/modelpkg"
	"github.com/modelvault/modelvault/modelpkg/sshsig"
	"github.com/modelvault/modelvault/validate"
)

func cmdSign() *command {
	return &command{
		name: "sign", args: "PACKAGE.zip --key KEY", minArgs: 1, maxArgs: 1,
		summary: "sign a package's manifest with an SSH key",
		help: `Signs deployment_manifest.json with an SSH key, as ssh-keygen -Y sign does
(namespace modelvault-package), and adds the signature to the package as
deployment_manifest.json.sig (replacing an earlier one). The manifest pins
every file's SHA-256, so the signature covers the whole package.

When ssh-keygen is installed it does the signing, so keys with a
passphrase, keys held by ssh-agent (give the .pub file) and hardware-token
keys work; otherwise KEY must be an unencrypted OpenSSH private key.
The package is rewritten in place unless -o names another file.`,
		flags: func(fs *flag.FlagSet, o *cmdOpts) {
			fs.StringVar(&o.key, "key", "", "SSH private key (or .pub of an agent key) (required)")
			fs.StringVar(&o.out, "o", "", "output file (default: rewrite PACKAGE.zip)")
		},
		run: runSign,
	}
}

// keygenSigner signs through ssh-keygen, which reaches ssh-agent and
// hardware tokens.
func keygenSigner(e *env, keygen, key string) sshsig.SignFunc {
	return func(manifest []byte) ([]byte, error) {
		dir, err := os.MkdirTemp("", "modelctl-sign-*")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		m := filepath.Join(dir, modelpkg.DefaultManifestFile)
		if err := os.WriteFile(m, manifest, 0o600); err != nil {
			return nil, err
		}
		cmd := exec.CommandContext(e.ctx, keygen, "-q", "-Y", "sign", "-f", key, "-n", sshsig.Namespace, m)
		cmd.Stdin = os.Stdin // a passphrase prompt reads the terminal
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("ssh-keygen -Y sign: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
		}
		return os.ReadFile(m + ".sig")
	}
}

func runSign(e *env, o *cmdOpts, args []string) error {
	if o.key == "" {
		return usagef("sign needs --key KEY")
	}
	var sign sshsig.SignFunc
	if kg, err := exec.LookPath("ssh-keygen"); err == nil {
		sign = keygenSigner(e, kg, o.key)
	} else {
		pem, err := os.ReadFile(o.key)
		if err != nil {
			return err
		}
		key, err := ssh.ParseRawPrivateKey(pem)
		if err != nil {
			return fmt.Errorf("sign: %s: %w (without ssh-keygen only unencrypted OpenSSH keys work)", o.key, err)
		}
		sign = sshsig.KeySigner(key)
	}
	path := args[0]
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out := o.out
	if out == "" {
		out = path
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".modelctl-sign-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	sig, err := sshsig.SignPackage(e.ctx, tmp, in, fi.Size(), sign)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sign %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	if e.json {
		writeJSON(e.stdout, map[string]any{"ok": true, "output": out, "fingerprint": sig.Fingerprint()})
		return nil
	}
	fmt.Fprintf(e.stdout, "signed %s with %s\n", out, sig.Fingerprint())
	return nil
}

func cmdVerify() *command {
	return &command{
		name: "verify", args: "PACKAGE.zip [--allowed-signers FILE]", minArgs: 1, maxArgs: 1,
		summary: "check a package's signature (and everything inspect checks)",
		help: `Checks a package as inspect does and verifies its signature. With
--allowed-signers (OpenSSH's allowed_signers format: principals, key,
namespaces=, valid-after=, valid-before=) an unsigned package, an untrusted
signer and a bad signature are rejected (codes unsigned, untrusted_signer,
bad_signature) and the signer's principal is printed; without it, a
signature is verified against its own key and only its fingerprint is shown.`,
		run: runVerify,
	}
}

func runVerify(e *env, o *cmdOpts, args []string) error {
	path := args[0]
	report, version, err := checkPackage(e, "verify", path)
	if err != nil {
		return err
	}
	if report.Valid() && report.Signer == nil {
		report.Errorf(validate.ErrUnsigned, sshsig.SignatureFile, "the package is not signed")
	}
	ok := report.Valid()
	if e.json {
		fs := report.Findings
		if fs == nil {
			fs = []validate.Finding{}
		}
		writeJSON(e.stdout, map[string]any{"ok": ok, "version": version, "signer": report.Signer, "findings": fs})
	} else {
		switch {
		case !ok:
			fmt.Fprintf(e.stdout, "%s: rejected\n", path)
		case report.Signer.Trusted:
			fmt.Fprintf(e.stdout, "%s: good signature by %s (%s)\n", path, report.Signer.Principal, report.Signer.Fingerprint)
		default:
			fmt.Fprintf(e.stdout, "%s: good signature by key %s (no --allowed-signers: not checked against a policy)\n", path, report.Signer.Fingerprint)
		}
		printFindings(e.stdout, report.Findings)
	}
	if !ok {
		return errRejected
	}
	return nil
}
