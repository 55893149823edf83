package testservers

import (
	"bytes"
	"context"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// RequireEnv is the environment variable that turns a missing server
// binary from a skip into a failure.
const RequireEnv = "MODELVAULT_REQUIRE_SERVERS"

// Bounds on waiting for servers.
const (
	readyTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
	startTries   = 3
)

// Server is a running server.
type Server struct {
	// Name is the server's name, e.g. "versitygw".
	Name string
	// Addr is its host:port on 127.0.0.1.
	Addr string
	// Env holds the environment variables the gocloud driver needs,
	// "KEY=value".
	Env []string

	newBucket func(ctx context.Context, name string) (string, error)
	buckets   atomic.Int64
	logPath   string
}

// Setenv sets s.Env for the rest of the test, with t.Setenv.
func (s *Server) Setenv(t *testing.T) {
	t.Helper()
	for _, kv := range s.Env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// NewBucket creates a new, empty bucket (container) and returns the URL
// that opens it with gocloud.dev's blob.OpenBucket, once the driver is
// imported and s.Env is set.
func (s *Server) NewBucket(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("bucket-%04d", s.buckets.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url, err := s.newBucket(ctx, name)
	if err != nil {
		t.Fatalf("%s: creating bucket %s: %v\n%s", s.Name, name, err, s.logTail())
	}
	return url
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return fmt.Sprintf("--- %s log (tail) ---\n%s", s.Name, b)
}

// binary finds a server binary or skips (or fails) the test.
func binary(t testing.TB, name, envVar, install string) string {
	t.Helper()
	if p := os.Getenv(envVar); p != "" {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range filepath.SplitList(build.Default.GOPATH) {
		p := filepath.Join(dir, "bin", name)
		if info, err := os.Stat(p); err == nil && !info.IsDir() {
			return p
		}
	}
	msg := fmt.Sprintf("%s not found (in $%s, PATH or $GOPATH/bin); install it with: %s (or: bash .ci/install-tools.sh)", name, envVar, install)
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s; %s=1 requires it", msg, RequireEnv)
	}
	t.Skip(msg)
	return ""
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// process is a started server process.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
}

func startProcess(bin string, args []string, env []string, logPath string) (*process, error) {
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "$ %s %s\n", bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// stop stops the process (its process group where the system has them):
// a polite termination request, then a forced kill after a bounded wait.
// killed reports that the forced kill was needed (a server waiting for a
// client's idle keep-alive connections, say); err that even it failed.
func (p *process) stop() (killed bool, err error) {
	terminateGroup(p.cmd)
	select {
	case <-p.done:
		return false, nil
	case <-time.After(stopTimeout):
	}
	killGroup(p.cmd)
	select {
	case <-p.done:
		return true, nil
	case <-time.After(stopTimeout):
		return true, fmt.Errorf("process %d did not exit after a forced kill", p.cmd.Process.Pid)
	}
}

// start runs a server on a free port until ready answers true, retrying
// with another port if the process exits early (the port may have been
// taken between choosing and binding it).
func start(t testing.TB, s *Server, bin string, args func(port int) []string, env []string, ready func(addr string) bool) {
	t.Helper()
	var lastErr error
	for try := range startTries {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		p, err := startProcess(bin, args(port), env, s.logPath)
		if err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		deadline := time.Now().Add(readyTimeout)
		for time.Now().Before(deadline) {
			select {
			case <-p.done:
				lastErr = fmt.Errorf("exited during startup (try %d): %v", try+1, p.cmd.ProcessState)
			case <-time.After(100 * time.Millisecond):
				if !ready(addr) {
					continue
				}
				s.Addr = addr
				t.Cleanup(func() {
					killed, err := p.stop()
					if err != nil {
						t.Errorf("%s: stop: %v", s.Name, err)
					} else if killed {
						t.Logf("%s: did not stop within %v of SIGTERM; killed", s.Name, stopTimeout)
					}
				})
				return
			}
			break
		}
		if lastErr == nil {
			lastErr = fmt.Errorf("not ready within %v", readyTimeout)
		}
		p.stop()
	}
	t.Fatalf("%s: %v\n%s", s.Name, lastErr, s.logTail())
}

// httpReady returns a readiness probe: any HTTP answer to GET path (or,
// with okOnly, a 2xx answer).
func httpReady(path string, okOnly bool) func(addr string) bool {
	client := &http.Client{Timeout: time.Second}
	return func(addr string) bool {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return !okOnly || resp.StatusCode/100 == 2
	}
}

// Versitygw credentials and region.
const (
	S3AccessKey = "testkey"
	S3SecretKey = "testsecret"
	S3Region    = "us-east-1"
)

// StartVersityGW starts versitygw (S3) with its POSIX backend in a
// temporary directory, in single-account mode. Buckets are directories.
func StartVersityGW(t testing.TB) *Server {
	t.Helper()
	bin := binary(t, "versitygw", "MODELVAULT_VERSITYGW",
		"go install github.com/versity/versitygw/cmd/versitygw@v1.8.0")
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &Server{Name: "versitygw", logPath: filepath.Join(dir, "server.log")}
	start(t, s, bin, func(port int) []string {
		return []string{"--port", "127.0.0.1:" + strconv.Itoa(port), "--health", "/health", "--quiet", "posix", root}
	}, []string{"ROOT_ACCESS_KEY_ID=" + S3AccessKey, "ROOT_SECRET_ACCESS_KEY=" + S3SecretKey}, httpReady("/health", true))
	s.Env = []string{
		"AWS_ACCESS_KEY_ID=" + S3AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + S3SecretKey,
		"AWS_REGION=" + S3Region,
		"AWS_EC2_METADATA_DISABLED=true",
	}
	s.newBucket = func(ctx context.Context, name string) (string, error) {
		if err := os.Mkdir(filepath.Join(root, name), 0o755); err != nil {
			return "", err
		}
		return "s3://" + name + "?endpoint=http://" + s.Addr + "&use_path_style=true&region=" + S3Region, nil
	}
	return s
}

// StartFakeGCS starts fake-gcs-server (GCS) with its memory backend. (Its
// filesystem backend cannot hold keys with 250-byte elements: it prefixes
// temporary file names. The memory backend's RSS reaches about 1.2 GB
// after a 256 MiB object.) Its -public-host is the address STORAGE_EMULATOR_HOST
// names, as gcsblob's reads require.
func StartFakeGCS(t testing.TB) *Server {
	t.Helper()
	bin := binary(t, "fake-gcs-server", "MODELVAULT_FAKE_GCS_SERVER",
		"go install github.com/fsouza/fake-gcs-server@v1.56.1")
	dir := t.TempDir()
	s := &Server{Name: "fake-gcs-server", logPath: filepath.Join(dir, "server.log")}
	start(t, s, bin, func(port int) []string {
		addr := "127.0.0.1:" + strconv.Itoa(port)
		return []string{"-scheme", "http", "-host", "127.0.0.1", "-port", strconv.Itoa(port),
			"-public-host", addr, "-external-url", "http://" + addr,
			"-backend", "memory", "-log-level", "warn"}
	}, nil, httpReady("/_internal/healthcheck", true))
	s.Env = []string{"STORAGE_EMULATOR_HOST=" + s.Addr}
	s.newBucket = func(ctx context.Context, name string) (string, error) {
		body := fmt.Sprintf(`{"name":%q}`, name)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost,
			"http://"+s.Addr+"/storage/v1/b?project=test", bytes.NewReader([]byte(body)))
		if err != nil {
			return "", err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return "", fmt.Errorf("create bucket: HTTP %s", resp.Status)
		}
		return "gs://" + name, nil
	}
	return s
}

// Azurite's well-known development account.
const (
	AzureAccount = "devstoreaccount1"
	AzureKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// StartAzurite starts Azurite's blob service with disk persistence in a
// temporary directory. --skipApiVersionCheck is required: the Azure SDK
// that gocloud.dev v0.47.0 uses sends a newer API version than Azurite
// 3.35.0 knows.
func StartAzurite(t testing.TB) *Server {
	t.Helper()
	bin := binary(t, "azurite-blob", "MODELVAULT_AZURITE_BLOB",
		"npm install -g azurite@3.35.0")
	dir := t.TempDir()
	s := &Server{Name: "azurite", logPath: filepath.Join(dir, "server.log")}
	start(t, s, bin, func(port int) []string {
		return []string{"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port),
			"--location", filepath.Join(dir, "data"), "--disableTelemetry", "--skipApiVersionCheck", "--silent"}
	}, nil, httpReady("/"+AzureAccount+"?comp=list", false))
	s.Env = []string{"AZURE_STORAGE_ACCOUNT=" + AzureAccount, "AZURE_STORAGE_KEY=" + AzureKey}
	s.newBucket = func(ctx context.Context, name string) (string, error) {
		cred, err := azblob.NewSharedKeyCredential(AzureAccount, AzureKey)
		if err != nil {
			return "", err
		}
		c, err := azblob.NewClientWithSharedKeyCredential("http://"+s.Addr+"/"+AzureAccount+"/", cred, nil)
		if err != nil {
			return "", err
		}
		if _, err := c.CreateContainer(ctx, name, nil); err != nil {
			return "", err
		}
		return "azblob://" + name + "?protocol=http&domain=" + s.Addr, nil
	}
	return s
}
