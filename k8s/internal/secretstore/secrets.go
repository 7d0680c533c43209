package secretstore

import (
	"context"
	"io/fs"
	"strings"

	"github.com/caddyserver/certmagic"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	k8slabels "k8s.io/apimachinery/pkg/labels"
)

// Exists lists Secrets with a field selector on the cleaned name; any error
// counts as "does not exist" (L88-107).
func (s *Storage) Exists(ctx context.Context, key string) bool {
	name := SecretName(key)
	list, err := s.client.CoreV1().Secrets(s.Namespace).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(),
	})
	if err != nil {
		return false
	}
	for _, item := range list.Items {
		if item.Name == name {
			return true
		}
	}
	return false
}

// Store updates the Secret when Exists says it is there, else creates it;
// the Update carries no resourceVersion, so the last writer wins (L110-135).
func (s *Storage) Store(ctx context.Context, key string, value []byte) error {
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: SecretName(key), Labels: labels},
		Data:       map[string][]byte{"value": value},
	}
	secrets := s.client.CoreV1().Secrets(s.Namespace)
	var err error
	if s.Exists(ctx, key) {
		_, err = secrets.Update(ctx, secret, metav1.UpdateOptions{})
	} else {
		_, err = secrets.Create(ctx, secret, metav1.CreateOptions{})
	}
	return err
}

// Load returns data.value; a missing Secret is fs.ErrNotExist (L138-149).
func (s *Storage) Load(ctx context.Context, key string) ([]byte, error) {
	secret, err := s.client.CoreV1().Secrets(s.Namespace).Get(ctx, SecretName(key), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fs.ErrNotExist
	}
	if err != nil {
		return nil, err
	}
	return secret.Data["value"], nil
}

// Delete deletes the Secret; NotFound is returned as is (L152-160).
func (s *Storage) Delete(ctx context.Context, key string) error {
	return s.client.CoreV1().Secrets(s.Namespace).Delete(ctx, SecretName(key), metav1.DeleteOptions{})
}

// List returns the names (prefix stripped, still cleaned) of the labelled
// Secrets that start with the cleaned prefix; recursive is ignored
// (L163-183).
func (s *Storage) List(ctx context.Context, prefix string, _ bool) ([]string, error) {
	list, err := s.client.CoreV1().Secrets(s.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: k8slabels.SelectorFromSet(labels).String(),
	})
	if err != nil {
		return nil, err
	}
	want := SecretName(prefix)
	var keys []string
	for _, item := range list.Items {
		if strings.HasPrefix(item.Name, want) {
			keys = append(keys, strings.TrimPrefix(item.Name, secretPrefix))
		}
	}
	return keys, nil
}

// Stat reports the Secret's creation time and value size; a missing Secret
// is the API server's NotFound, not fs.ErrNotExist (L186-200).
func (s *Storage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	secret, err := s.client.CoreV1().Secrets(s.Namespace).Get(ctx, SecretName(key), metav1.GetOptions{})
	if err != nil {
		return certmagic.KeyInfo{}, err
	}
	return certmagic.KeyInfo{
		Key:      key,
		Modified: secret.CreationTimestamp.UTC(),
		Size:     int64(len(secret.Data["value"])),
	}, nil
}
