// Re-renders when the user signs in or out (here or in another tab).
import { useEffect, useState } from 'preact/hooks';
import { isSignedIn, onSessionChange } from './session';

export function useSignedIn(): boolean {
  const [signedIn, setSignedIn] = useState(isSignedIn);
  useEffect(() => {
    const update = () => setSignedIn(isSignedIn());
    update();
    return onSessionChange(update);
  }, []);
  return signedIn;
}
