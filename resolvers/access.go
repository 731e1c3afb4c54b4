package resolvers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/koujing/koujing/authz"
	"github.com/koujing/koujing/graph/model"
	"github.com/koujing/koujing/semantic"
)

// Authenticator says who sends a request: *authz.Authenticator, which verifies JWT bearer tokens
// and API keys, and in demo mode lets requests without credentials run as the demo user.
type Authenticator interface {
	Authenticate(r *http.Request) (*authz.Principal, error)
}

// refuseAll is the authenticator of a handler given none: no request gets through.
type refuseAll struct{}

func (refuseAll) Authenticate(*http.Request) (*authz.Principal, error) {
	return nil, fmt.Errorf("%w: the server has no way to check credentials", authz.ErrUnauthenticated)
}

type accessKey struct{}

func withAccess(ctx context.Context, a *semantic.Access) context.Context {
	return context.WithValue(ctx, accessKey{}, a)
}

// accessFor returns the request's access. Its absence is a wiring mistake, never a reason to
// serve anything: it panics, which the error presenter reports as INTERNAL.
func accessFor(ctx context.Context) *semantic.Access {
	a, ok := ctx.Value(accessKey{}).(*semantic.Access)
	if !ok {
		panic("no access in the request context; serve the schema through NewHandler")
	}
	return a
}

// authenticate runs each request as the principal its credentials name, with that principal's
// access and dataloaders in its context, and the client its X-Koujing-Client header names (see
// semantic.ClientHeader). A request whose credentials are missing (outside demo mode), invalid
// or expired is answered 401 with UNAUTHENTICATED, never reaches the resolvers, and is recorded
// in the audit log of a governed service.
func authenticate(svc *semantic.Service, opts HandlerOptions, log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, err := opts.Authenticator.Authenticate(r)
		var acc *semantic.Access
		if err == nil {
			acc, err = svc.Access(who)
		}
		if err != nil {
			log.WarnContext(r.Context(), "request refused", "remote", r.RemoteAddr, "err", err)
			message := unauthenticatedMessage(err)
			recordLoginFailure(svc, r, who, message)
			w.Header().Set("WWW-Authenticate", `Bearer realm="koujing"`)
			writeError(w, http.StatusUnauthorized, CodeUnauthenticated, message)
			return
		}
		ctx := withAccess(r.Context(), acc)
		ctx = semantic.WithClient(ctx, r.Header.Get(semantic.ClientHeader))
		l := newLoaders(opts.CatalogReader(acc), opts.BatchWait, log)
		l.governance = newGovernanceLoaders(opts.GovernanceReader(svc, acc), opts.BatchWait, log)
		ctx = withLoaders(ctx, l)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// unauthenticatedMessage is what a refused client is told: what was wrong with its credentials,
// which never quotes them.
func unauthenticatedMessage(err error) string {
	if errors.Is(err, authz.ErrUnauthenticated) {
		return strings.TrimPrefix(err.Error(), "unauthenticated: ")
	}
	return "the credentials cannot be used: " + strings.TrimPrefix(err.Error(), "forbidden: ")
}

// policyRule is a rule as the API shows it.
func policyRule(r authz.Rule) *model.PolicyRule {
	out := &model.PolicyRule{Line: r.String()}
	opt := func(s string) *string { return optional(s) }
	switch r.Kind {
	case authz.Grant:
		eft := model.EffectAllow
		if r.Effect == authz.Deny {
			eft = model.EffectDeny
		}
		prio := r.Priority
		out.Kind, out.Subject, out.Object, out.Action, out.Effect, out.Priority = model.PolicyRuleKindGrant, opt(r.Subject), opt(r.Object), opt(r.Action), &eft, &prio
	case authz.RoleAssignment:
		out.Kind, out.Subject, out.Role = model.PolicyRuleKindRoleAssignment, opt(r.Subject), opt(r.Role)
	case authz.RowFilter:
		out.Kind, out.Subject, out.Object, out.Value = model.PolicyRuleKindRowFilter, opt(r.Subject), opt(r.Object), opt(r.Value)
	case authz.Mask:
		out.Kind, out.Subject, out.Object, out.Value = model.PolicyRuleKindMask, opt(r.Subject), opt(r.Object), opt(r.Value)
	case authz.AttributeDecl:
		out.Kind, out.Object, out.Value = model.PolicyRuleKindAttribute, opt(r.Object), opt(r.Value)
	}
	return out
}

func policyChange(rec authz.AuditRecord) *model.PolicyChange {
	return &model.PolicyChange{
		Seq:       int(rec.Seq),
		At:        rec.At.UTC().Format(time.RFC3339Nano),
		Actor:     rec.Actor,
		Operation: model.PolicyChangeOperation(strings.ToUpper(string(rec.Op))),
		Detail:    rec.Detail,
	}
}

func apiKey(k *authz.APIKey) *model.APIKey {
	out := &model.APIKey{ID: k.ID, Name: k.Name, Roles: k.Roles, Subject: k.Subject(),
		CreatedAt: k.CreatedAt.UTC().Format(time.RFC3339Nano), CreatedBy: k.CreatedBy}
	if out.Roles == nil {
		out.Roles = []string{}
	}
	if k.Revoked() {
		out.RevokedAt = optional(k.RevokedAt.UTC().Format(time.RFC3339Nano))
	}
	return out
}

func grantRule(in model.GrantInput) authz.Rule {
	r := authz.Rule{Kind: authz.Grant, Subject: in.Subject, Object: in.Object, Action: in.Action, Effect: authz.Allow, Priority: authz.DefaultPriority}
	if in.Effect != nil && *in.Effect == model.EffectDeny {
		r.Effect = authz.Deny
	}
	if in.Priority != nil {
		r.Priority = *in.Priority
	}
	return r
}

// authorizerFor returns the service's authorizer; a server without one has no policy to show or
// change.
func authorizerFor(svc *semantic.Service) (*authz.Authorizer, error) {
	if a := svc.Authorizer(); a != nil {
		return a, nil
	}
	return nil, fmt.Errorf("%w: this server has no access policy", authz.ErrForbidden)
}

// changeRule adds or removes a rule of the caller's tenant's policy.
func changeRule(ctx context.Context, svc *semantic.Service, add bool, r authz.Rule) (*model.PolicyChange, error) {
	a, err := authorizerFor(svc)
	if err != nil {
		return nil, err
	}
	who := accessFor(ctx).Principal()
	var rec authz.AuditRecord
	if add {
		rec, err = a.AddRule(ctx, who, r)
	} else {
		rec, err = a.RemoveRule(ctx, who, r)
	}
	if err != nil {
		return nil, err
	}
	return policyChange(rec), nil
}

// adminOf returns the authorizer when the caller may administer its tenant's policy.
func adminOf(ctx context.Context, svc *semantic.Service) (*authz.Authorizer, *authz.Principal, error) {
	a, err := authorizerFor(svc)
	if err != nil {
		return nil, nil, err
	}
	who := accessFor(ctx).Principal()
	if err := a.CheckAdmin(who); err != nil {
		return nil, nil, err
	}
	return a, who, nil
}

// parseObject reads an object named as KIND:NAME and finds it in the caller's catalog, so that
// it is decided with every facet it has (its domain, model and tags).
func parseObject(acc *semantic.Access, text string) (authz.Object, error) {
	kind, name, _ := strings.Cut(text, ":")
	var obj *authz.Object
	switch authz.ObjectKind(kind) {
	case authz.MetricObject:
		if m := acc.Metric(name); m != nil {
			o := m.AccessObject()
			obj = &o
		}
	case authz.DimensionObject:
		if d := acc.Dimension(name); d != nil {
			o := d.AccessObject()
			obj = &o
		}
	case authz.ModelObject:
		if m := acc.Model(name); m != nil {
			o := m.AccessObject()
			obj = &o
		}
	case authz.DomainObject:
		if d := acc.Domain(name); d != nil {
			o := d.AccessObject()
			obj = &o
		}
	case authz.PolicyObject:
		if name == acc.Principal().Tenant {
			obj = &authz.Object{Kind: authz.PolicyObject, Name: name}
		}
	default:
		return authz.Object{}, invalidf("object %q is not KIND:NAME with KIND one of metric, dimension, model, domain or policy", text)
	}
	if obj == nil {
		return authz.Object{}, notFoundf("there is no %s %q", kind, name)
	}
	return *obj, nil
}

// policyChangePage returns a page of the caller's tenant's audit records; a cursor holds the
// sequence number of the last record of a page.
func policyChangePage(ctx context.Context, a *authz.Authorizer, who *authz.Principal, first *int, after *string) (*model.PolicyChangeConnection, error) {
	n, afterSeq, err := pageArgs(first, after)
	if err != nil {
		return nil, err
	}
	recs, err := a.Audit(ctx, who, afterSeq, n+1)
	if err != nil {
		return nil, err
	}
	out := &model.PolicyChangeConnection{Edges: []*model.PolicyChangeEdge{}, PageInfo: &model.PageInfo{HasPreviousPage: afterSeq > 0}}
	if len(recs) > n {
		recs, out.PageInfo.HasNextPage = recs[:n], true
	}
	for _, rec := range recs {
		out.Edges = append(out.Edges, &model.PolicyChangeEdge{Cursor: encodeCursor(strconv.FormatInt(rec.Seq, 10)), Node: policyChange(rec)})
	}
	setPageCursors(out.PageInfo, len(out.Edges), func(i int) *string { return &out.Edges[i].Cursor })
	return out, nil
}
