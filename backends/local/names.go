package local

import (
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
)

// alphabet is Kubernetes' for generated names: no vowels (no words), no
// look-alikes.
const alphabet = "bcdfghjklmnpqrstvwxz2456789"

func randSuffix() string {
	b := make([]byte, 5)
	for i := range b {
		b[i] = alphabet[mrand.IntN(len(alphabet))]
	}
	return string(b)
}

// newUID returns a random (version 4) UUID, as Kubernetes uids are.
func newUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
