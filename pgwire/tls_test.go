package pgwire

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// selfSigned returns a certificate for 127.0.0.1, made for one test.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "koujing test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestTLS answers an SSLRequest with TLS when the server has a certificate, and with N when it
// has none, which a client that requires TLS then refuses.
func TestTLS(t *testing.T) {
	ctx := context.Background()
	addr := testServer(t, Options{TLS: &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}})
	conn := connectURL(t, "postgres://demo:demo@"+addr+"/koujing?sslmode=require")
	if _, ok := conn.PgConn().Conn().(*tls.Conn); !ok {
		t.Errorf("the connection is %T, not TLS", conn.PgConn().Conn())
	}
	var n int64
	if err := conn.QueryRow(ctx, "SELECT order_count FROM sales.orders").Scan(&n); err != nil || n == 0 {
		t.Errorf("over TLS: %d, %v", n, err)
	}
	plain := testServer(t, Options{})
	if c, err := pgx.Connect(ctx, "postgres://demo:demo@"+plain+"/koujing?sslmode=require"); err == nil {
		c.Close(ctx)
		t.Error("sslmode=require connected to a server without a certificate")
	}
	prefer := connectURL(t, "postgres://demo:demo@"+plain+"/koujing?sslmode=prefer")
	if _, ok := prefer.PgConn().Conn().(*tls.Conn); ok {
		t.Error("a server without a certificate spoke TLS")
	}
}

func connectURL(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
