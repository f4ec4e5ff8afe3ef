package verify

import (
	"testing"

	"realname/service/face"
)

// TestFaceModePerApp: an app's own face mode wins over the service's; a
// service without a provider has none.
func TestFaceModePerApp(t *testing.T) {
	var provider Face = face.NewMetered(nil, nil) // present; never called here
	s := &Service{face: provider, policy: Policy{Face: FaceOff, FaceByApp: map[string]string{"wxhospital": FaceRequired, "wxbank": FaceFallback}}}
	for app, want := range map[string]string{"wxhospital": FaceRequired, "wxbank": FaceFallback, "wxshop": FaceOff} {
		if got := s.faceMode(app); got != want {
			t.Errorf("faceMode(%s) = %s, want %s", app, got, want)
		}
	}
	if !s.faceFirst("wxhospital", false) || s.faceFirst("wxhospital", true) || s.faceFirst("wxshop", false) {
		t.Error("faceFirst does not follow the app's mode and the local rules")
	}
	if (&Service{policy: Policy{Face: FaceRequired}}).faceMode("wxhospital") != FaceOff {
		t.Error("a service without a face provider has a face mode")
	}
}
