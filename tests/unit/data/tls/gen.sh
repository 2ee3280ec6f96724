#!/bin/sh
# Test certificates for test_tls.c (run once; the outputs are checked in).
# EC P-256 keys, valid for 100 years: tests must not expire.
set -e
cd "$(dirname "$0")"
days=36500
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
ca() { # name subject
	ec "$1.key"
	openssl req -x509 -new -key "$1.key" -subj "$2" -days $days -out "$1.pem" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign
}
leaf() { # name subject san eku ca
	ec "$1.key"
	openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
	printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' \
		"$3" "$4" > "$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$5.pem" -CAkey "$5.key" \
		-set_serial "0x$(openssl rand -hex 8)" -days $days \
		-extfile "$1.ext" -out "$1.pem"
	rm -f "$1.csr" "$1.ext"
}
ca ca "/CN=strata test CA"
ca other-ca "/CN=strata other CA"
ca mint-ca "/CN=strata inspection CA"
leaf srv-a "/CN=a.test" "DNS:a.test" serverAuth ca
leaf srv-b "/CN=b.test" "DNS:b.test,DNS:*.b.test" serverAuth ca
leaf client "/O=strata/CN=alice" "email:alice@example.org,URI:spiffe://strata/alice" clientAuth ca
leaf client-other "/CN=mallory" "email:mallory@example.org" clientAuth other-ca
openssl x509 -in client.pem -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f > client.sha256
