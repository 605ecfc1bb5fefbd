package plan

import (
	"maps"
	"testing"
)

func TestGrantTable(t *testing.T) {
	for _, tt := range []struct {
		name   string
		claims []HostnameClaim
		held   Grants
		want   Grants
	}{{
		name: "nobody holds anything: the earlier asking Tenant gets it",
		claims: []HostnameClaim{
			hostClaim("old", at(1), "shop.example.com"),
			hostClaim("new", at(2), "*.example.com", "new.example.org"),
			hostClaim("none", at(0)),
		},
		want: Grants{"shop.example.com": "old", "new.example.org": "new"},
	}, {
		name: "the holder keeps it against an older claimant",
		claims: []HostnameClaim{
			hostClaim("old", at(1), "shop.example.com"),
			hostClaim("new", at(2), "*.example.com"),
		},
		held: Grants{"*.example.com": "new"},
		want: Grants{"*.example.com": "new"},
	}, {
		name: "entries of Tenants gone, or no longer asking, are dropped",
		claims: []HostnameClaim{
			hostClaim("a", at(1), "a.example.com"),
		},
		held: Grants{"a.example.com": "a", "b.example.com": "a", "c.example.com": "gone"},
		want: Grants{"a.example.com": "a"},
	}, {
		name: "a hostname gives way once its holder lets go",
		claims: []HostnameClaim{
			hostClaim("holder", at(2)),
			hostClaim("waiting", at(3), "shop.example.com"),
		},
		held: Grants{"shop.example.com": "holder"},
		want: Grants{"shop.example.com": "waiting"},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			got := GrantTable(tt.claims, tt.held)
			if !maps.Equal(got, tt.want) {
				t.Fatalf("GrantTable = %v, want %v", got, tt.want)
			}
			// Recorded, the table stays as it is: a restart writes nothing.
			if again := GrantTable(tt.claims, got); !maps.Equal(again, got) {
				t.Fatalf("not a fixed point: %v then %v", got, again)
			}
		})
	}
}

func TestGrantsEncoding(t *testing.T) {
	g := Grants{
		"a.example.com": "a", "b.example.com": "b", "*.shop.example.com": "a",
		"x.team.example.org": "c", "y.team.example.org": "c",
	}
	want := map[string]string{
		"a.example.com": "a", "b.example.com": "b", "_in.example.com": GrantedToSeveral,
		"_.shop.example.com": "a",
		"x.team.example.org": "c", "y.team.example.org": "c", "_in.team.example.org": "c",
	}
	data := g.Encode()
	if !maps.Equal(data, want) {
		t.Fatalf("Encode = %v, want %v", data, want)
	}
	if back := DecodeGrants(data); !maps.Equal(back, g) {
		t.Fatalf("DecodeGrants = %v, want %v", back, g)
	}
}
