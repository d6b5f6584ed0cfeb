//go:build linux

package kube

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki holds the file paths of the throwaway certificates of one cluster.
type pki struct {
	caCert, caKey           string
	serverCert, serverKey   string // kube-apiserver serving
	kwokCert, kwokKey       string // kwok's kubelet endpoint serving
	kubeletCert, kubeletKey string // the real kubelet's serving
	adminCert, adminKey     string // system:masters client, used by every component
	saKey, saPub            string // service-account token signing
	caPEM, adminPEM         []byte
	adminKeyPEM             []byte
}

// newPKI writes a fresh CA and the leaf certificates into dir. ECDSA P-256
// keeps generation instant; one cluster's certificates live as long as it.
func newPKI(dir string, nodeIPs ...string) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := &pki{}
	path := func(n string) string { return filepath.Join(dir, n) }
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "batchctl-e2e-ca"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := sign(caTmpl, nil, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	p.caCert, p.caKey = path("ca.crt"), path("ca.key")
	if p.caPEM, _, err = writePair(p.caCert, p.caKey, caDER, caKey); err != nil {
		return nil, err
	}
	loopback := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.1")}
	leaf := func(name string, tmpl *x509.Certificate) (certPEM, keyPEM []byte, err error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		der, err := sign(tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			return nil, nil, err
		}
		return writePair(path(name+".crt"), path(name+".key"), der, key)
	}
	p.serverCert, p.serverKey = path("apiserver.crt"), path("apiserver.key")
	if _, _, err = leaf("apiserver", &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		IPAddresses: loopback,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		return nil, err
	}
	p.kwokCert, p.kwokKey = path("kwok.crt"), path("kwok.key")
	if _, _, err = leaf("kwok", &x509.Certificate{
		Subject:     pkix.Name{CommonName: nodeName},
		DNSNames:    []string{"localhost", nodeName},
		IPAddresses: loopback,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		return nil, err
	}
	p.kubeletCert, p.kubeletKey = path("kubelet.crt"), path("kubelet.key")
	kubeletIPs := append([]net.IP{}, loopback...)
	for _, ip := range nodeIPs {
		kubeletIPs = append(kubeletIPs, net.ParseIP(ip))
	}
	if _, _, err = leaf("kubelet", &x509.Certificate{
		Subject:     pkix.Name{CommonName: RealNodeName},
		DNSNames:    []string{"localhost", RealNodeName},
		IPAddresses: kubeletIPs,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		return nil, err
	}
	p.adminCert, p.adminKey = path("admin.crt"), path("admin.key")
	if p.adminPEM, p.adminKeyPEM, err = leaf("admin", &x509.Certificate{
		Subject:     pkix.Name{CommonName: "batchctl-e2e-admin", Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return nil, err
	}
	// Service-account tokens: the API server signs with the private key and
	// verifies with the public one (ES256).
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	p.saKey, p.saPub = path("sa.key"), path("sa.pub")
	keyDER, err := x509.MarshalPKCS8PrivateKey(saKey)
	if err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, err
	}
	if err := writePEM(p.saKey, "PRIVATE KEY", keyDER); err != nil {
		return nil, err
	}
	if err := writePEM(p.saPub, "PUBLIC KEY", pubDER); err != nil {
		return nil, err
	}
	return p, nil
}

func sign(tmpl, parent *x509.Certificate, pub crypto.PublicKey, priv crypto.Signer) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(30 * 24 * time.Hour)
	if parent == nil {
		parent = tmpl
	}
	return x509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
}

func writePair(certPath, keyPath string, der []byte, key *ecdsa.PrivateKey) (certPEM, keyPEM []byte, err error) {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if err := os.WriteFile(certPath, certPEM, 0o600); err != nil {
		return nil, nil, err
	}
	return certPEM, keyPEM, os.WriteFile(keyPath, keyPEM, 0o600)
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}
