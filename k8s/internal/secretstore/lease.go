package secretstore

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The controller's lock timings (L25-28): a holder's Lease is valid for
// leaseDuration after its last renewal, renewed every renewInterval; a
// waiter tries again every pollInterval.
const (
	leaseDuration = 5 * time.Second
	renewInterval = 2 * time.Second
	pollInterval  = 5 * time.Second
)

// Lock takes the Lease for key, waiting while another holder keeps it
// fresh, then keeps renewing it in the background until it is deleted or
// taken (L202-229). Cancelling ctx stops both the wait and the renewal.
func (s *Storage) Lock(ctx context.Context, key string) error {
	name := LeaseName(key)
	for {
		if _, err := s.acquireOrRenew(ctx, name, false); err == nil {
			go s.renew(ctx, name)
			return nil
		}
		select {
		case <-time.After(pollInterval):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// renew refreshes the Lease every renewInterval until it is gone (Unlock)
// or any error, including another holder (L218-229).
func (s *Storage) renew(ctx context.Context, name string) {
	for {
		time.Sleep(renewInterval)
		if released, err := s.acquireOrRenew(ctx, name, true); released || err != nil {
			return
		}
	}
}

// acquireOrRenew creates the Lease, or updates it when it is ours or its
// holder's last renewal is older than leaseDuration. The update carries the
// resourceVersion read, so of two replicas taking an expired Lease at once
// one gets a conflict. released reports, when renewing, that the Lease is
// gone (L231-286).
func (s *Storage) acquireOrRenew(ctx context.Context, name string, renewing bool) (released bool, err error) {
	leases := s.client.CoordinationV1().Leases(s.Namespace)
	now := metav1.NowMicro()
	seconds := int32(leaseDuration / time.Second)
	spec := coordinationv1.LeaseSpec{
		HolderIdentity:       &s.LeaseID,
		LeaseDurationSeconds: &seconds,
		AcquireTime:          &now,
		RenewTime:            &now,
	}
	current, err := leases.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if renewing {
			return true, nil
		}
		transitions := int32(0)
		spec.LeaseTransitions = &transitions
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.Namespace},
			Spec:       spec,
		}, metav1.CreateOptions{})
		return err != nil, err
	}
	if err != nil {
		return true, err
	}
	holder := ""
	if current.Spec.HolderIdentity != nil {
		holder = *current.Spec.HolderIdentity
	}
	fresh := current.Spec.RenewTime != nil && current.Spec.RenewTime.Add(leaseDuration).After(now.Time)
	if holder != "" && holder != s.LeaseID && fresh {
		return true, fmt.Errorf("lock is held by %v and has not yet expired", holder)
	}
	transitions := int32(0)
	if current.Spec.LeaseTransitions != nil {
		transitions = *current.Spec.LeaseTransitions
	}
	if holder == s.LeaseID {
		spec.AcquireTime = current.Spec.AcquireTime
	} else {
		transitions++
	}
	spec.LeaseTransitions = &transitions
	current.Spec = spec
	if _, err := leases.Update(ctx, current, metav1.UpdateOptions{}); err != nil {
		return true, fmt.Errorf("failed to update lock: %w", err)
	}
	return false, nil
}

// Unlock deletes the Lease, whoever holds it (L288-291).
func (s *Storage) Unlock(ctx context.Context, key string) error {
	return s.client.CoordinationV1().Leases(s.Namespace).Delete(ctx, LeaseName(key), metav1.DeleteOptions{})
}
