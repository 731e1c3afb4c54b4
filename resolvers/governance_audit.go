package resolvers

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/graph/model"
	"github.com/koujing/koujing/semantic"
	"github.com/koujing/koujing/semantic/store"
)

// recordLoginFailure audits a refused request on a governed service, under the tenant and
// subject its credentials claimed when they can be read: a token's unverified claims, or an API
// key's record. The claims are only ever written to the audit log, never trusted.
func recordLoginFailure(svc *semantic.Service, r *http.Request, who *authz.Principal, reason string) {
	gov := svc.Governance()
	if gov == nil {
		return
	}
	tenant, actor := claimedIdentity(svc, r, who)
	gov.RecordLoginFailure(tenant, actor, r.RemoteAddr, reason)
}

// maxClaimLength bounds what a refused token's claims may write into the audit log.
const maxClaimLength = 128

// claimedIdentity returns who a refused request's credentials claim to be, or "" for what they
// do not say.
func claimedIdentity(svc *semantic.Service, r *http.Request, who *authz.Principal) (tenant, actor string) {
	if who != nil {
		return who.Tenant, who.String()
	}
	cred := strings.TrimSpace(r.Header.Get("X-API-Key"))
	if scheme, token, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " "); ok && strings.EqualFold(scheme, "Bearer") {
		cred = strings.TrimSpace(token)
	}
	if id, ok := strings.CutPrefix(cred, "kj_"); ok {
		id, _, _ = strings.Cut(id, "_")
		if a := svc.Authorizer(); a != nil {
			if k, ok := a.LookupKey(id); ok {
				return k.Tenant, "api_key:" + k.ID + "@" + k.Tenant
			}
		}
		return "", ""
	}
	parts := strings.Split(cred, ".")
	if len(parts) != 3 || len(parts[1]) > 8192 {
		return "", ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", ""
	}
	var claims struct {
		Sub    any `json:"sub"`
		Tenant any `json:"tenant"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return "", ""
	}
	sub, _ := claims.Sub.(string)
	tenant, _ = claims.Tenant.(string)
	if len(sub) > maxClaimLength || len(tenant) > maxClaimLength || strings.ContainsAny(sub+tenant, "\n\r") {
		return "", ""
	}
	if sub != "" {
		actor = sub + "@" + tenant
	}
	return tenant, actor
}

// auditPageSize is how many events the export reads from the store at a time.
const auditPageSize = 1000

// auditLine is one event of the JSON lines export.
type auditLine struct {
	Seq    int64           `json:"seq"`
	At     string          `json:"at"`
	Tenant string          `json:"tenant"`
	Actor  string          `json:"actor"`
	Type   string          `json:"type"`
	Object string          `json:"object"`
	Detail json.RawMessage `json:"detail"`
}

// auditExportHandler streams the caller's tenant's audit log as JSON lines, oldest first:
//
//	GET /audit.jsonl?since=2026-11-01&until=…&types=change_request,login.failed&actor=…&object=…
//
// since and until take a date or an RFC 3339 time; types is a comma-separated list, as the
// auditEvents filter takes it. Only the tenant's admins may read it. Events are read from the
// store a page at a time and flushed as they are written, so that a long log never sits in
// memory; a client that goes away stops the export.
func auditExportHandler(svc *semantic.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(err error) { writeHTTPError(w, r, log, err) }
		gov, err := governanceOf(svc)
		if err != nil {
			fail(err)
			return
		}
		params := r.URL.Query()
		f := &model.AuditEventFilter{}
		for _, p := range []struct {
			name string
			to   **string
		}{{"since", &f.Since}, {"until", &f.Until}, {"actor", &f.Actor}, {"object", &f.Object}} {
			if v := params.Get(p.name); v != "" {
				*p.to = &v
			}
		}
		for _, t := range strings.Split(params.Get("types"), ",") {
			if t = strings.TrimSpace(t); t != "" {
				f.Types = append(f.Types, t)
			}
		}
		q, err := eventQuery(f)
		if err != nil {
			fail(err)
			return
		}
		acc := accessFor(r.Context())
		rc := http.NewResponseController(w)
		started := false
		enc := json.NewEncoder(w)
		for {
			q.Limit = auditPageSize
			events, err := gov.Events(r.Context(), acc, q)
			if err != nil {
				if !started {
					fail(err)
				} else if !errors.Is(err, r.Context().Err()) {
					log.ErrorContext(r.Context(), "audit export stopped", "err", err)
				}
				return
			}
			if !started {
				w.Header().Set("Content-Type", "application/jsonl; charset=utf-8")
				w.WriteHeader(http.StatusOK)
				started = true
			}
			for _, e := range events {
				if err := enc.Encode(exportLine(e)); err != nil {
					return
				}
			}
			_ = rc.Flush()
			if len(events) < auditPageSize {
				return
			}
			q.AfterSeq = events[len(events)-1].Seq
		}
	})
}

func exportLine(e store.Event) auditLine {
	detail := json.RawMessage(e.Detail)
	if len(detail) == 0 || !json.Valid(detail) {
		detail = json.RawMessage("{}")
	}
	return auditLine{Seq: e.Seq, At: rfc3339(e.At), Tenant: e.Tenant, Actor: e.Actor, Type: e.Type, Object: e.Object, Detail: detail}
}
