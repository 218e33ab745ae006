// Sign in with email and password. Errors come in the API's words: its
// `detail`, and each field it names beside that field.
import { useState } from 'preact/hooks';
import type { TargetedEvent } from 'preact';
import { ApiProblem, sentence, toProblem } from '../shared/problem';
import { signIn } from '../shared/session';
import { PageHeading } from '../shared/ui/PageHeading';

export function SignIn() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ApiProblem | null>(null);

  async function submit(event: TargetedEvent<HTMLFormElement, SubmitEvent>) {
    event.preventDefault();
    if (busy) return;
    const missing = [
      ...(email.trim() ? [] : [{ field: 'email', detail: 'Enter your email address.' }]),
      ...(password ? [] : [{ field: 'password', detail: 'Enter your password.' }]),
    ];
    if (missing.length > 0) {
      setProblem(new ApiProblem({ type: 'validation', title: 'Missing', status: 0, detail: 'Enter your email and password.', errors: missing }));
      return;
    }
    setBusy(true);
    setProblem(null);
    try {
      await signIn(email.trim(), password);
      // The area sees the session and moves on to `next` or the stores.
    } catch (error) {
      setProblem(toProblem(error));
      setBusy(false);
    }
  }

  const emailError = problem?.fieldError('email');
  const passwordError = problem?.fieldError('password');

  return (
    <main id="main" class="page narrow signin">
      <p class="brand" aria-hidden="true">
        Shopfleet
      </p>
      <PageHeading title="Sign in" />
      <p class="muted">Staff sign-in for your stores' sales and orders.</p>
      <form class="form card" onSubmit={submit} noValidate>
        {problem && (
          <div class="alert" role="alert">
            <p>{problem.humanMessage}</p>
          </div>
        )}
        <div class="field">
          <label for="signin-email">Email</label>
          <input
            id="signin-email"
            name="email"
            type="email"
            autocomplete="username"
            required
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
            aria-invalid={emailError ? 'true' : undefined}
            aria-describedby={emailError ? 'signin-email-error' : undefined}
          />
          {emailError && (
            <p id="signin-email-error" class="field-error">
              {sentence(emailError)}
            </p>
          )}
        </div>
        <div class="field">
          <label for="signin-password">Password</label>
          <input
            id="signin-password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
            aria-invalid={passwordError ? 'true' : undefined}
            aria-describedby={passwordError ? 'signin-password-error' : undefined}
          />
          {passwordError && (
            <p id="signin-password-error" class="field-error">
              {sentence(passwordError)}
            </p>
          )}
        </div>
        <button type="submit" class="button primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
