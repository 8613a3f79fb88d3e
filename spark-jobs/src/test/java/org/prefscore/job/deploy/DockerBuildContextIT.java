package org.prefscore.job.deploy;

import java.io.IOException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * After {@code package} (failsafe, {@code mvn verify}): the Dockerfiles' build context is complete,
 * the application jar included, so `docker build` from the repository root finds every COPY source.
 * {@link DockerfileTest} checks the same before package, with the jar by its declared name.
 */
class DockerBuildContextIT {

  @ParameterizedTest
  @ValueSource(strings = {"Dockerfile", "Dockerfile.gpu"})
  void buildContextIsCompleteAfterPackage(String name) throws IOException {
    DockerfileTest.checkBuildContext(name, true);
  }
}
