package controllersim

import (
	networkingv1 "k8s.io/api/networking/v1"
)

// Store holds Ingresses in the order the controller's route builder takes
// them: the order its informer delivered them, which is not creation order
// in general. Follows pkg/store/store.go L28-65 of the controller:
//
//   - an added Ingress is appended; an update replaces the Ingress with the
//     same UID in place (AddIngress);
//   - a deleted Ingress's slot is taken by the last Ingress (PluckIngress
//     swaps them and shortens the list), so deleting one Ingress can move
//     another, a catch-all for instance, ahead of the rest.
//
// The controller feeds it from a shared informer: on start the informer's
// initial list (the API server returns it sorted by namespace and name), then
// watch events as they come (internal/controller/action_ingress.go L45-70).
// The e2e tests feed it from a real informer the same way.
type Store struct {
	Ingresses []*networkingv1.Ingress
}

// Add is the controller's handling of an Ingress add or update event.
func (s *Store) Add(ing *networkingv1.Ingress) {
	for i, have := range s.Ingresses {
		if have.UID == ing.UID {
			s.Ingresses[i] = ing
			return
		}
	}
	s.Ingresses = append(s.Ingresses, ing)
}

// Delete is the controller's handling of an Ingress delete event.
func (s *Store) Delete(ing *networkingv1.Ingress) {
	for i, have := range s.Ingresses {
		if have.UID == ing.UID {
			last := len(s.Ingresses) - 1
			s.Ingresses[i], s.Ingresses[last] = s.Ingresses[last], s.Ingresses[i]
			s.Ingresses = s.Ingresses[:last]
			return
		}
	}
}
