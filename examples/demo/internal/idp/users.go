package idp

import "crypto/subtle"

// User is a demo account.
type User struct {
	ID       string // the subject, kept readable so the demo pages make sense
	Name     string
	Email    string
	Password string
}

// DemoUsers returns the two accounts of the demo. Their passwords are fixed
// and printed at start: this OP listens on loopback only and exists to be
// watched, not trusted.
func DemoUsers() []User {
	return []User{
		{ID: "alice", Name: "Alice Example", Email: "alice@example.test", Password: "wonderland"},
		{ID: "bob", Name: "Bob Example", Email: "bob@example.test", Password: "builder"},
	}
}

// directory looks users up by id.
type directory map[string]User

func newDirectory(users []User) directory {
	d := make(directory, len(users))
	for _, u := range users {
		d[u.ID] = u
	}
	return d
}

// check returns the user when the password matches. An unknown user costs
// the same comparison, so timing does not tell which accounts exist.
func (d directory) check(id, password string) (User, bool) {
	u, ok := d[id]
	want := u.Password
	if !ok {
		want = "\x00no such user"
	}
	match := subtle.ConstantTimeCompare([]byte(password), []byte(want)) == 1
	return u, ok && match
}
