package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

// selfSigned writes a fresh self-signed certificate for 127.0.0.1 and its
// key into dir, and returns their paths and a pool that trusts it. Nothing
// is committed: the key exists only for the test.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "fptcloud_exporter test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)

	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// fetch GETs url with client, with basic auth when user is not empty.
func fetch(client *http.Client, url, user, password string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// TestWebConfigTLSAndBasicAuth runs the exporter with --web.config.file
// holding a TLS certificate and a basic-auth user, and scrapes it the ways
// a Prometheus server and a stranger would.
func TestWebConfigTLSAndBasicAuth(t *testing.T) {
	const user, password = "prometheus", "s3cret-Scrape-Pass"
	t.Setenv(tokenEnv, "")
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	// The lowest cost keeps the test fast; exporter-toolkit accepts any.
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	require.NoError(t, err)
	webConfig := filepath.Join(dir, "web.yml")
	require.NoError(t, os.WriteFile(webConfig, fmt.Appendf(nil,
		"tls_server_config:\n  cert_file: %s\n  key_file: %s\nbasic_auth_users:\n  %s: %s\n",
		certFile, keyFile, user, hash), 0o600))

	base, logs, stop := startExporter(t, "--demo", "--web.config.file="+webConfig)
	tlsBase := strings.Replace(base, "http://", "https://", 1)
	trusting := &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
		Timeout:   10 * time.Second,
	}
	t.Cleanup(trusting.CloseIdleConnections)

	// Up, over TLS, with credentials.
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, _, err := fetch(trusting, tlsBase+"/-/ready", user, password)
		if err == nil && code == http.StatusOK {
			break
		}
		require.True(t, time.Now().Before(deadline), "not ready over TLS within 60s: %d %v", code, err)
		time.Sleep(100 * time.Millisecond)
	}

	code, body, err := fetch(trusting, tlsBase+"/metrics", user, password)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "fptcloud_billing_cost_vnd{")
	assert.Contains(t, body, "fptcloud_exporter_refresh_success 1")

	for _, tt := range []struct {
		name, user, password string
	}{
		{"no credentials", "", ""},
		{"wrong password", user, "wrong-password"},
		{"unknown user", "admin", password},
		{"empty password", user, ""},
	} {
		for _, path := range []string{"/metrics", "/", "/-/healthy", "/-/ready"} {
			code, body, err := fetch(trusting, tlsBase+path, tt.user, tt.password)
			require.NoError(t, err)
			assert.Equal(t, http.StatusUnauthorized, code, "%s on %s", tt.name, path)
			assert.NotContains(t, body, "fptcloud_", "%s on %s", tt.name, path)
		}
	}

	// Plain HTTP to the TLS port gets no metrics, with or without
	// credentials (Go's TLS server answers 400 to a plain request).
	plain := &http.Client{Timeout: 10 * time.Second}
	code, body, err = fetch(plain, base+"/metrics", user, password)
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body, "HTTP request to an HTTPS server")
	assert.NotContains(t, body, "fptcloud_")

	// A client that does not trust the certificate refuses the server.
	_, _, err = fetch(&http.Client{Timeout: 10 * time.Second}, tlsBase+"/metrics", user, password)
	var unknownCA x509.UnknownAuthorityError
	require.ErrorAs(t, err, &unknownCA)

	require.Equal(t, 0, stop())
	assert.Contains(t, logs.String(), "TLS is enabled")
	assert.NotContains(t, logs.String(), password)
	assert.NotContains(t, logs.String(), string(hash))
}
