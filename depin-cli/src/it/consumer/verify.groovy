// Checks what the consumer's build printed and resolved (build.log, target/classpath.txt),
// and that depin-bom lists exactly the published modules.
// Variables from depin-cli/pom.xml: rootDir (the depin checkout), depinVersion.

import groovy.xml.XmlSlurper

String log = new File(basedir, 'build.log').getText('UTF-8')

// The README's Quickstart ran, on the providers it built, and printed the product.
// (Each check is a boolean first, so that a failure names it without dumping the whole log.)
boolean quickstartPrinted = log =~ 'C = \\[58\\.0, 64\\.0, 139\\.0, 154\\.0\\], computed by [0-9a-f]{12} for \\$0\\.\\d{6}'
assert quickstartPrinted : 'the Quickstart did not print the expected product; see target/it/consumer/build.log'

// The command line, fetched as dev.depin:depin-cli, ran a small demo with every job verified and settled.
boolean demoVerified = log.contains('final states: {SETTLED=4}')
assert demoVerified : 'java -jar depin-cli.jar demo did not verify and settle its 4 jobs; see target/it/consumer/build.log'

// A buyer gets depin-core, depin-crypto and what they use, nothing else: no Netty, JCuda,
// picocli, JMH, JUnit or logging binding. The client publishes metrics through Micrometer's
// facade (issue 17, docs/decisions.md "Metrics through Micrometer"), which brings its own
// small dependencies (HdrHistogram for percentile histograms, jspecify annotations).
def jars = new File(basedir, 'target/classpath.txt').text.trim().split(File.pathSeparator)
        .collect { new File(it).name.replaceAll(/-\d[\w.\-]*\.jar$/, '') }.sort()
def expected = ['HdrHistogram', 'bcpkix-jdk18on', 'bcprov-jdk18on', 'bcutil-jdk18on', 'depin-core', 'depin-crypto',
                'jackson-annotations', 'jackson-core', 'jackson-databind', 'jspecify', 'micrometer-commons',
                'micrometer-core', 'micrometer-observation', 'slf4j-api']
assert jars == expected : "a buyer's class path should be ${expected}, was ${jars}"

File root = new File(rootDir)

// ...and they are the jars this build made, not older ones found elsewhere.
def sameBytes = { File a, File b -> a.bytes == b.bytes }
def paths = new File(basedir, 'target/classpath.txt').text.trim().split(File.pathSeparator).collect { new File(it) }
['depin-core', 'depin-crypto'].each { m ->
    File used = paths.find { it.name == "${m}-${depinVersion}.jar" }
    File built = new File(root, "${m}/target/${m}-${depinVersion}.jar")
    boolean same = used != null && sameBytes(used, built)
    assert same : "the consumer used ${used}, not ${built}"
}
boolean sameCli = sameBytes(new File(basedir, 'target/depin-cli.jar'), new File(root, 'depin-cli/target/depin.jar'))
assert sameCli : 'the fetched depin-cli.jar is not depin-cli/target/depin.jar'

// depin-bom manages every module that is deployed, and nothing else.
def parent = new XmlSlurper().parse(new File(root, 'pom.xml'))
def published = parent.modules.module*.text().findAll { m ->
    def pom = new XmlSlurper().parse(new File(root, "${m}/pom.xml"))
    m != 'depin-bom' && pom.properties.'maven.deploy.skip'.text() != 'true'
}.sort()
def bom = new XmlSlurper().parse(new File(root, 'depin-bom/pom.xml'))
assert bom.version.text() == depinVersion : "depin-bom's version ${bom.version} differs from the build's ${depinVersion}"
def managed = bom.dependencyManagement.dependencies.dependency.collect {
    assert it.groupId.text() == 'dev.depin' : "depin-bom manages ${it.groupId}:${it.artifactId}, which is not depin's"
    it.artifactId.text()
}.sort()
assert managed == published : "depin-bom lists ${managed}; the deployed modules are ${published}"
return true
