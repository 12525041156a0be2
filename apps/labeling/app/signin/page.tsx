// Sign-in page.
import { SignInForm } from '../../src/components/signin-form.tsx';

export const dynamic = 'force-dynamic';

export default function SignIn() {
  return <main className="page"><SignInForm /></main>;
}
