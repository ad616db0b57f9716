package githubfake

import "net/http"

func (s *Server) routes() {
	s.handleRepo(s.repoRoutes()...)
	s.handleRepo(s.releaseRoutes()...)
	s.handleRepo(s.deploymentRoutes()...)
	s.handleRepo(s.actionsRoutes()...)
	s.mux.HandleFunc("GET /meta", func(w http.ResponseWriter, r *http.Request) {
		meta := map[string]any{"verifiable_password_authentication": false}
		if s.ghes != "" {
			meta["installed_version"] = s.ghes
		}
		writeJSON(w, http.StatusOK, meta)
	})
	s.mux.HandleFunc("GET /rate_limit", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		rs := s.rate
		s.mu.Unlock()
		core := map[string]any{"limit": rs.limit, "remaining": rs.remaining, "used": rs.limit - rs.remaining, "reset": rs.reset.Unix(), "resource": "core"}
		writeJSON(w, http.StatusOK, map[string]any{"resources": map[string]any{"core": core}, "rate": core})
	})
	// Everything else, including a known path with the wrong method, is a
	// 404 with GitHub's body.
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		notFound(w, "https://docs.github.com/rest")
	})
}
