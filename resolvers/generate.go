package resolvers

// The GraphQL schema in ../schema is the API's source of truth; this regenerates ../graph and the
// resolver stubs from it. Without --config, gqlgen finds ../gqlgen.yml by walking up from here and
// reads its paths from the repository root, exactly as `go tool gqlgen generate` run there does.
//
//go:generate go tool gqlgen generate
